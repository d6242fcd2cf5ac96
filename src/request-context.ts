import { randomUUID } from 'node:crypto';

/**
 * What a log line or an outgoing call learns about the request it is part of. It is passed by hand (in a
 * command's env, to the HTTP handlers, to a job): AsyncLocalStorage would carry it through awaits, but on
 * Node 20 its promise hooks cost every promise of the process, a third of a command's own time.
 */
export interface RequestContext {
  /** A GUID, because Partner Center's MS-CorrelationId must be one: the same ID goes into every call the request makes. */
  readonly requestId: string;
  /** Set by the HTTP API once a token named the organization. */
  organization?: { id: string; name?: string };
  /** The command or click being logged: a dispatch inside it (a "run" button) is part of it, not a line of its own. */
  observing?: { name?: string; errorId?: string };
}

export const newRequest = (): RequestContext => ({ requestId: randomUUID() });

/** The field a log line written for the request carries. */
export const requestField = (request: RequestContext | undefined): { requestId?: string } => (request ? { requestId: request.requestId } : {});
