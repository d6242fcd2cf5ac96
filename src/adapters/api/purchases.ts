import type { Database } from '../../../db/client.js';
import { organizationForToken } from '../../core/api-tokens.js';
import type { Organization } from '../../core/context.js';
import { DomainError } from '../../core/errors.js';
import { describeIssues } from '../../core/import.js';
import { maxPurchasesPerBatch, purchaseInputSchema, purchaseJson, recordPurchases, type PurchaseInput, type PurchaseOutcome } from '../../core/purchases.js';
import { translator, type MessageKey } from '../../i18n/index.js';
import { forRequest, type Logger } from '../../log.js';
import { coalesce } from '../../coalesce.js';
import type { RequestContext } from '../../request-context.js';

export interface ApiAnswer {
  status: number;
  body: unknown;
}

/** One purchase's body may be this large; a batch (a JSON array) up to purchaseBatchBodyLimit. */
export const purchaseBodyLimit = 64 * 1024;
export const purchaseBatchBodyLimit = 1024 * 1024;

const statusOf: Partial<Record<MessageKey, number>> = {
  'purchase.unknownCustomer': 422,
  'purchase.idReused': 409,
  'purchase.reservationExists': 409,
};

const t = translator('en');
const error = (status: number, key: MessageKey, params: Record<string, string | number> = {}, extra: object = {}): ApiAnswer => ({
  status,
  body: { error: t(key, params), ...extra },
});

/** A purchase's answer, the same alone and in a batch. */
function answerOf(outcome: PurchaseOutcome): ApiAnswer {
  if (outcome.state === 'refused') {
    const { code, params } = outcome.error;
    return error(statusOf[code] ?? 400, code, params as Record<string, string>);
  }
  return { status: outcome.state === 'recorded' ? 201 : 200, body: { purchase: purchaseJson(outcome) } };
}

/**
 * POST /api/v1/purchases: a customer's own purchase from a script or another
 * system (R-P8). 201 with the stored purchase, 200 for a repeat of one already
 * recorded; any 4xx names the problem and stores nothing. A JSON array of up to
 * 500 purchases is a batch: 207, and each purchase answered in `results` as it
 * would be alone, in the same order.
 */
export function purchaseIntake(db: Database, options: { onRecorded: () => void; log: Logger }) {
  const write = isolatingFailures(db, options.onRecorded);
  const single = groupCommit(write);
  return async (request: { authorization?: string; contentType?: string; body: string; context: RequestContext }): Promise<ApiAnswer> => {
    const batch = /^\s*\[/.test(request.body);
    if (!batch && Buffer.byteLength(request.body) > purchaseBodyLimit) return error(413, 'api.tooLarge', { max: purchaseBodyLimit });
    const token = /^Bearer\s+(\S+)\s*$/i.exec(request.authorization ?? '')?.[1];
    if (!token) return error(401, 'api.tokenMissing');
    const org = await organizationForToken(db, token);
    if (!org) return error(401, 'api.tokenWrong');
    // The call's log line names the organization its token named.
    request.context.organization = { id: org.id, name: org.name };
    if (!/^application\/json\b/i.test(request.contentType ?? '')) return error(415, 'api.notJson');
    let json: unknown;
    try {
      json = JSON.parse(request.body);
    } catch (cause) {
      return error(400, 'api.badJson', { reason: (cause as Error).message });
    }
    if (!Array.isArray(json)) {
      const parsed = purchaseInputSchema.safeParse(json);
      if (!parsed.success) return error(400, 'api.invalidPurchase', {}, { problems: describeIssues(parsed.error) });
      return answerOf(await single(org, parsed.data));
    }
    if (!json.length) return error(400, 'api.emptyBatch', { max: maxPurchasesPerBatch });
    if (json.length > maxPurchasesPerBatch) return error(413, 'api.tooManyPurchases', { count: json.length, max: maxPurchasesPerBatch });
    const parsed = json.map((item) => purchaseInputSchema.safeParse(item));
    const valid = parsed.flatMap((p) => (p.success ? [p.data] : []));
    const outcomes = valid.length ? await write(org, valid) : [];
    let next = 0;
    const results = parsed.map((p) => {
      if (!p.success) return { status: 400, ...(error(400, 'api.invalidPurchase', {}, { problems: describeIssues(p.error) }).body as object) };
      const outcome = outcomes[next++]!;
      if (outcome instanceof Error) forRequest(options.log, request.context).error(`purchase intake: purchase ${p.data.id} of a batch`, outcome);
      const answer = outcome instanceof Error ? error(500, 'api.purchaseFailed') : answerOf(outcome);
      return { status: answer.status, ...(answer.body as object) };
    });
    return { status: 207, body: { results } };
  };
}

/**
 * Writes purchases in one transaction. Should that fail for a reason no purchase names (a
 * database error), each is tried alone, so one that cannot be stored leaves the others
 * recorded: its outcome is then the error, and nothing of it was stored.
 */
function isolatingFailures(db: Database, onRecorded: () => void) {
  const record = async (org: Organization, inputs: PurchaseInput[]) => {
    const outcomes = await recordPurchases(db, org, inputs);
    if (outcomes.some((o) => o.state === 'recorded')) onRecorded();
    return outcomes;
  };
  return async (org: Organization, inputs: PurchaseInput[]): Promise<(PurchaseOutcome | Error)[]> => {
    try {
      return await record(org, inputs);
    } catch (cause) {
      if (inputs.length === 1) return [cause as Error];
      const outcomes: (PurchaseOutcome | Error)[] = [];
      for (const input of inputs) {
        try {
          outcomes.push(...(await record(org, [input])));
        } catch (alone) {
          outcomes.push(alone as Error);
        }
      }
      return outcomes;
    }
  };
}

/**
 * Group commit for purchases sent one per request: those arriving while the organization's
 * previous group is being written wait for it, then go in one write together (up to a batch's
 * size), each answered with its own outcome once that write committed.
 */
function groupCommit(write: (org: Organization, inputs: PurchaseInput[]) => Promise<(PurchaseOutcome | Error)[]>) {
  const groups = new Map<string, (item: { org: Organization; input: PurchaseInput }) => Promise<PurchaseOutcome | Error>>();
  return async (org: Organization, input: PurchaseInput): Promise<PurchaseOutcome> => {
    let group = groups.get(org.id);
    if (!group) {
      // The newest reading of the organization (its activity channel) is the one written with.
      group = coalesce((items) => write(items.at(-1)!.org, items.map((i) => i.input)), { max: maxPurchasesPerBatch });
      groups.set(org.id, group);
    }
    const outcome = await group({ org, input });
    if (outcome instanceof Error) throw outcome;
    return outcome;
  };
}
