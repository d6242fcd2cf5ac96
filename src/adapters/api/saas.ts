import { z } from 'zod';
import type { Database } from '../../../db/client.js';
import { publisherForToken } from '../../core/api-tokens.js';
import { DomainError } from '../../core/errors.js';
import { describeIssues } from '../../core/import.js';
import { recordActivation, type ActivationStep } from '../../core/marketplace.js';
import { translator, type MessageKey } from '../../i18n/index.js';
import type { RequestContext } from '../../request-context.js';
import type { ApiAnswer } from './purchases.js';

const activateBody = z.object({ planId: z.string().optional(), quantity: z.number().int().min(1).optional(), licensesAssigned: z.boolean().optional() });

/**
 * The publisher's side of a SaaS purchase, shaped after the SaaS fulfillment
 * API (R-M9): `POST /api/v1/saas/subscriptions/{id}/activate` confirms setup
 * (and, with "licensesAssigned": true, the licenses); `…/licenses` records the
 * licenses alone. Billing starts when both happened.
 */
export function saasFulfillment(db: Database, onChange: () => void) {
  const t = translator('en');
  const error = (status: number, key: MessageKey, params: Record<string, string | number> = {}, extra: object = {}): ApiAnswer => ({ status, body: { error: t(key, params), ...extra } });
  return async (request: { subscriptionId: string; step: 'activate' | 'licenses'; authorization?: string; body: string; context: RequestContext }): Promise<ApiAnswer> => {
    const token = /^Bearer\s+(\S+)\s*$/i.exec(request.authorization ?? '')?.[1];
    const publisher = token ? await publisherForToken(db, token) : undefined;
    if (!publisher) return error(401, 'api.publisherToken');
    request.context.organization = { id: publisher.orgId };
    let json: unknown = {};
    try {
      if (request.body.trim()) json = JSON.parse(request.body);
    } catch (cause) {
      return error(400, 'api.badJson', { reason: (cause as Error).message });
    }
    const parsed = activateBody.safeParse(json);
    if (!parsed.success) return error(400, 'api.invalidActivation', {}, { problems: describeIssues(parsed.error) });
    const steps: ActivationStep[] = request.step === 'licenses' ? ['licenses'] : parsed.data.licensesAssigned ? ['licenses', 'setup'] : ['setup'];
    try {
      let result;
      for (const step of steps) result = await recordActivation(db, request.subscriptionId, step, new Date(), publisher, parsed.data);
      onChange();
      const s = result!.subscription;
      return {
        status: 200,
        body: {
          id: s.id,
          offerId: s.offerId,
          planId: s.planId,
          quantity: s.seats,
          status: s.status,
          licensesAssignedAt: s.licensesAssignedAt?.toISOString() ?? null,
          setupCompletedAt: s.setupCompletedAt?.toISOString() ?? null,
          billingStartedAt: s.billingStartedAt?.toISOString() ?? null,
        },
      };
    } catch (cause) {
      if (cause instanceof DomainError) {
        const status = cause.code === 'activation.unknown' ? 404 : 409;
        return error(status, cause.code, cause.params as Record<string, string>);
      }
      throw cause;
    }
  };
}
