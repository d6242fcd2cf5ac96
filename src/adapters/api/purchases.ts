import type { Database } from '../../../db/client.js';
import { organizationForToken } from '../../core/api-tokens.js';
import { DomainError } from '../../core/errors.js';
import { describeIssues } from '../../core/import.js';
import { purchaseInputSchema, purchaseJson, recordPurchase } from '../../core/purchases.js';
import { translator, type MessageKey } from '../../i18n/index.js';
import { noteOrganization } from '../../request-context.js';

export interface ApiAnswer {
  status: number;
  body: unknown;
}

const statusOf: Partial<Record<MessageKey, number>> = {
  'purchase.unknownCustomer': 422,
  'purchase.idReused': 409,
  'purchase.reservationExists': 409,
};

/**
 * POST /api/v1/purchases: a customer's own purchase from a script or another
 * system (R-P8). 201 with the stored purchase, 200 for a repeat of one already
 * recorded; any 4xx names the problem and stores nothing.
 */
export function purchaseIntake(db: Database, onRecorded: () => void) {
  const t = translator('en');
  const error = (status: number, key: MessageKey, params: Record<string, string> = {}, extra: object = {}): ApiAnswer => ({
    status,
    body: { error: t(key, params), ...extra },
  });
  return async (request: { authorization?: string; contentType?: string; body: string }): Promise<ApiAnswer> => {
    const token = /^Bearer\s+(\S+)\s*$/i.exec(request.authorization ?? '')?.[1];
    if (!token) return error(401, 'api.tokenMissing');
    const org = await organizationForToken(db, token);
    if (!org) return error(401, 'api.tokenWrong');
    noteOrganization(org);
    if (!/^application\/json\b/i.test(request.contentType ?? '')) return error(415, 'api.notJson');
    let json: unknown;
    try {
      json = JSON.parse(request.body);
    } catch (cause) {
      return error(400, 'api.badJson', { reason: (cause as Error).message });
    }
    const parsed = purchaseInputSchema.safeParse(json);
    if (!parsed.success) return error(400, 'api.invalidPurchase', {}, { problems: describeIssues(parsed.error) });
    try {
      const recorded = await recordPurchase(db, org, parsed.data);
      if (recorded.state === 'recorded') onRecorded();
      return { status: recorded.state === 'recorded' ? 201 : 200, body: { purchase: purchaseJson(recorded) } };
    } catch (cause) {
      if (cause instanceof DomainError && statusOf[cause.code]) return error(statusOf[cause.code]!, cause.code, cause.params as Record<string, string>);
      throw cause;
    }
  };
}
