import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';

/** What a log line or an outgoing call learns about the request it is part of. */
export interface RequestContext {
  /** A GUID, because Partner Center's MS-CorrelationId must be one: the same ID goes into every call the request makes. */
  readonly requestId: string;
  /** Set by the HTTP API once a token named the organization. */
  organization?: { id: string; name?: string };
  /** The command or click being logged: a dispatch inside it (a "run" button) is part of it, not a line of its own. */
  observing?: { name?: string; errorId?: string };
}

// Carried through awaits, so nothing between an adapter and the Partner Center client passes the ID by hand.
const storage = new AsyncLocalStorage<RequestContext>();

export const currentRequest = (): RequestContext | undefined => storage.getStore();

/** Runs `work` as a request: under the surrounding request's ID when there is one (or the ID given), else a new one. */
export function withRequest<T>(work: () => T, fields: Partial<RequestContext> = {}): T {
  const outer = currentRequest();
  return storage.run({ organization: outer?.organization, ...fields, requestId: fields.requestId ?? outer?.requestId ?? randomUUID() }, work);
}

/** The HTTP API learns whose request it is from its token, after the request began. */
export function noteOrganization(organization: { id: string; name?: string }): void {
  const request = currentRequest();
  if (request) request.organization = { id: organization.id, name: organization.name };
}

/** Runs `work` outside any request: a worker woken by a request is not part of it. */
export const outsideRequest = <T>(work: () => T): T => storage.exit(work);
