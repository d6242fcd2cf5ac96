import type { Organization, PurchasePermissionConnector } from '../core/context.js';
import { DomainError } from '../core/errors.js';
import { createPartnerCenterClient, PartnerCenterError, type PartnerCenterClient, type PartnerCenterSettings } from './client.js';

/** Partner Center's codes for "the policy already exists" (create) and "no such policy" (delete). */
export const policyExistsCode = '600041';
export const policyNotFoundCode = '600039';

export interface ConnectorFailure {
  at: Date;
  operation: string;
  status: number;
  code: string;
  description: string;
  correlationId: string;
}

export interface ConnectorStatus {
  tenantId: string;
  baseUrl: string;
  /** Whether a token could be had just now, and why not. */
  signIn: { ok: true } | { ok: false; reason: string };
  lastError?: ConnectorFailure;
}

export interface PartnerCenterConnector extends PurchasePermissionConnector {
  client: PartnerCenterClient;
  status(): Promise<ConnectorStatus>;
}

interface PolicyList {
  items?: { id?: string; permissions?: { action?: string; resource?: string }[] }[];
}

const reservationsPermission = { Action: 'Purchase', Resource: 'AzureReservedInstances' };

/** The customer purchase permission for Azure reservations kept as a Partner Center SelfServePolicy. */
export function createPartnerCenterConnector(settings: PartnerCenterSettings): PartnerCenterConnector {
  const client = createPartnerCenterClient(settings);
  let lastError: ConnectorFailure | undefined;

  /** R-A5: the credentials are one partner's; an organization naming another CSP tenant is never acted for. */
  function checkOrg(org: Organization) {
    if (org.cspTenantId && org.cspTenantId.toLowerCase() !== settings.tenantId.toLowerCase()) {
      throw new DomainError('partnerCenter.otherTenant', { org: org.name, tenant: org.cspTenantId });
    }
  }

  async function guarded<T>(operation: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (!(error instanceof PartnerCenterError)) throw error;
      lastError = { at: new Date(), operation, status: error.status, code: error.code, description: error.description, correlationId: error.correlationId };
      throw new DomainError(error.status === 0 ? 'partnerCenter.unreachable' : 'partnerCenter.refused', {
        status: error.status,
        code: error.code,
        description: error.description,
        correlationId: error.correlationId,
      });
    }
  }

  return {
    client,
    async allowReservations(org, customerTenantId) {
      checkOrg(org);
      await guarded('create SelfServePolicy', async () => {
        try {
          await client.request('POST', '/v1/SelfServePolicy', {
            SelfServeEntity: { SelfServeEntityType: 'customer', TenantID: customerTenantId },
            Grantor: { GrantorType: 'billToPartner', TenantID: settings.tenantId },
            Permissions: [reservationsPermission],
          });
        } catch (error) {
          // Already on in Partner Center: the asked state holds.
          if (error instanceof PartnerCenterError && error.status === 409 && error.code === policyExistsCode) return;
          throw error;
        }
      });
    },
    async disallowReservations(org, customerTenantId) {
      checkOrg(org);
      await guarded('delete SelfServePolicy', async () => {
        const { body } = await client.request('GET', `/v1/SelfServePolicy?entity_id=${encodeURIComponent(customerTenantId)}`);
        const items = Array.isArray(body) ? (body as PolicyList['items']) : ((body as PolicyList | undefined)?.items ?? []);
        const policies = (items ?? []).filter(
          (p) => p.id && (p.permissions ?? []).some((x) => x.action?.toLowerCase() === 'purchase' && x.resource?.toLowerCase() === 'azurereservedinstances'),
        );
        for (const policy of policies) {
          try {
            await client.request('DELETE', `/v1/SelfServePolicy/${encodeURIComponent(policy.id!)}`);
          } catch (error) {
            // Gone meanwhile: already off.
            if (error instanceof PartnerCenterError && error.status === 404 && error.code === policyNotFoundCode) continue;
            throw error;
          }
        }
      });
    },
    async status() {
      let signIn: ConnectorStatus['signIn'];
      try {
        await client.token();
        signIn = { ok: true };
      } catch (error) {
        const e = error as { errorCode?: string; errorMessage?: string; message?: string };
        signIn = { ok: false, reason: [e.errorCode, (e.errorMessage || e.message || String(error)).split('\n')[0]].filter(Boolean).join(': ') };
      }
      return { tenantId: settings.tenantId, baseUrl: settings.baseUrl, signIn, ...(lastError ? { lastError } : {}) };
    },
  };
}

export type PartnerCenterConfig = {
  PARTNER_CENTER_TENANT_ID?: string;
  PARTNER_CENTER_CLIENT_ID?: string;
  PARTNER_CENTER_CLIENT_SECRET?: string;
  PARTNER_CENTER_REFRESH_TOKEN?: string;
  PARTNER_CENTER_BASE_URL?: string;
  PARTNER_CENTER_AUTHORITY_URL?: string;
};

/** The connector when its four credentials are set (loadConfig refuses some without the others); otherwise none. */
export function partnerCenterFromConfig(config: PartnerCenterConfig, tuning: Partial<PartnerCenterSettings> = {}): PartnerCenterConnector | undefined {
  const { PARTNER_CENTER_TENANT_ID: tenantId, PARTNER_CENTER_CLIENT_ID: clientId, PARTNER_CENTER_CLIENT_SECRET: clientSecret, PARTNER_CENTER_REFRESH_TOKEN: refreshToken } = config;
  if (!tenantId || !clientId || !clientSecret || !refreshToken) return undefined;
  return createPartnerCenterConnector({
    tenantId,
    clientId,
    clientSecret,
    refreshToken,
    baseUrl: (config.PARTNER_CENTER_BASE_URL ?? 'https://api.partnercenter.microsoft.com').replace(/\/+$/, ''),
    authorityUrl: (config.PARTNER_CENTER_AUTHORITY_URL ?? 'https://login.microsoftonline.com').replace(/\/+$/, ''),
    ...tuning,
  });
}
