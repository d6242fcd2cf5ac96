import { parse, protocol, type PGlite, type Results, type Transaction } from '@electric-sql/pglite';

type BackendMessage = Awaited<ReturnType<PGlite['execProtocol']>>['messages'][number];

type QueryOptions = NonNullable<Parameters<PGlite['query']>[2]>;
type Parsers = PGlite['parsers'];

/** Where PostgreSQL raises the errors of a prepared statement that has to be prepared again. */
const staleStatement = new Set(['RevalidateCachedQuery', 'FetchPreparedStatement']);

/** Statements kept prepared at most; past it the least recently used one is closed. */
const capacity = 256;

const { serialize } = protocol;

/** One buffer for several protocol messages, so PostgreSQL gets them in a single call. */
function joined(messages: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(messages.reduce((size, message) => size + message.length, 0));
  let offset = 0;
  for (const message of messages) {
    out.set(message, offset);
    offset += message.length;
  }
  return out;
}

/**
 * PGlite's query() parses, plans and describes its statement on every call, in six calls into
 * PostgreSQL, which costs several times what executing our statements does. This makes each
 * distinct SQL text a named prepared statement the first time it runs (described then, once), and
 * from then on only binds and executes it, in one call, as postgres.js does on a server. Queries keep PGlite's locking:
 * outside a transaction they wait for it, inside one they run in it.
 */
export function reusePreparedStatements(client: PGlite): void {
  /** By SQL text, least recently used first. */
  const statements = new Map<string, { name: string; paramTypes: number[]; described: BackendMessage[] }>();
  /** Close messages for evicted or failed statements, sent with the next query. */
  let closing: Uint8Array[] = [];
  let named = 0;

  const fail = (error: unknown, text: string, params: unknown[]) => Object.assign(error as object, { query: text, params });

  async function prepared(text: string, options?: QueryOptions) {
    const known = statements.get(text);
    if (known) {
      statements.delete(text);
      statements.set(text, known);
      return known;
    }
    const name = `csp_${++named}`;
    const { messages } = await client.execProtocol(joined([...closing, serialize.parse({ name, text }), serialize.describe({ type: 'S', name }), serialize.sync()]), {
      syncToFs: false,
      onNotice: options?.onNotice,
    });
    closing = [];
    // Its parameter types and the shape of its rows, which a prepared statement keeps: rows are then described once, not on every run.
    const rowDescription = messages.find((message) => message.name === 'rowDescription');
    const statement = { name, paramTypes: parse.parseDescribeStatementResults(messages), described: rowDescription ? [rowDescription] : [] };
    statements.set(text, statement);
    if (statements.size > capacity) {
      const [oldest, evicted] = statements.entries().next().value!;
      statements.delete(oldest);
      closing.push(serialize.close({ type: 'S', name: evicted.name }));
    }
    return statement;
  }

  async function run<T>(text: string, params: unknown[] = [], options: QueryOptions | undefined, inTransaction: boolean, retried = false): Promise<Results<T>> {
    let statement;
    try {
      statement = await prepared(text, options);
    } catch (error) {
      throw fail(error, text, params);
    }
    // As PGlite's query() serializes them: by the parameter types PostgreSQL inferred.
    const values = params.map((value, i) => {
      if (value === null || value === undefined) return null;
      const type = statement.paramTypes[i]!;
      const serializer = options?.serializers?.[type] ?? client.serializers[type];
      return serializer ? serializer(value) : String(value);
    });
    const message = joined([...closing, serialize.bind({ statement: statement.name, values }), serialize.execute({}), serialize.sync()]);
    closing = [];
    let messages;
    try {
      ({ messages } = await client.execProtocol(message, { syncToFs: false, onNotice: options?.onNotice }));
    } catch (error) {
      // Prepared again next time, in case a schema change made it stale.
      statements.delete(text);
      closing.push(serialize.close({ type: 'S', name: statement.name }));
      // A statement whose rows a schema change reshaped, or one deallocated behind our back: outside a
      // transaction it is prepared again at once, as postgres.js does.
      if (!inTransaction && !retried && staleStatement.has((error as { routine?: string }).routine ?? '')) return run(text, params, options, inTransaction, true);
      throw fail(error, text, params);
    }
    // Drizzle passes a few parsers of its own with every query; PGlite would copy its hundreds to add them.
    const parsers = options?.parsers ? (Object.assign(Object.create(client.parsers), options.parsers) as Parsers) : client.parsers;
    return parse.parseResults([...statement.described, ...messages], parsers, { ...options, parsers: undefined })[0] as Results<T>;
  }

  // Blobs (COPY) and explicit parameter types stay with PGlite's own query().
  const own = (options?: QueryOptions) => !options?.blob && !options?.paramTypes;
  const query = client.query.bind(client);
  const transaction = client.transaction.bind(client);
  client.query = async <T>(text: string, params?: unknown[], options?: QueryOptions) => {
    if (!own(options)) return query<T>(text, params, options);
    await client._checkReady();
    return client._runExclusiveTransaction(() => client._runExclusiveQuery(() => run<T>(text, params, options, false)));
  };
  client.transaction = <T>(callback: (tx: Transaction) => Promise<T>) =>
    transaction((tx) => {
      const queryInTransaction = tx.query;
      tx.query = async <R>(text: string, params?: unknown[], options?: QueryOptions) => {
        if (!own(options)) return queryInTransaction<R>(text, params, options);
        if (tx.closed) throw new Error('Transaction is closed');
        return client._runExclusiveQuery(() => run<R>(text, params, options, true));
      };
      return callback(tx);
    });
}
