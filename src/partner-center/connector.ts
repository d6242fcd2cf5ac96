import type { Organization, PartnerCenterGateway } from '../core/context.js';
import type { RequestContext } from '../request-context.js';
import { createAzureReservations, type AzureGateway } from './azure.js';
import type { Subscription } from '../core/marketplace.js';
import type { SubscriptionChange } from '../core/subscription-edits.js';
import { describeChanges, fieldChanges, subscriptionColumns, type RemoteSubscription } from './subscriptions.js';
import { DomainError } from '../core/errors.js';
import { buyInPartnerCenter } from './purchase.js';
import { createPartnerCenterClient, PartnerCenterError, requestClient, type PartnerCenterClient, type PartnerCenterSettings } from './client.js';
import type { Database } from '../../db/client.js';
import type { Logger } from '../log.js';
import { databaseTokenStore, memoryTokenStore, tokenCipher, tokenKeyBytes } from './tokens.js';

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
  /** Where the newest refresh token is kept: sealed in the database, or in this process only (no PARTNER_CENTER_TOKEN_KEY). */
  tokenStorage: 'database' | 'memory';
  lastError?: ConnectorFailure;
}

export interface PartnerCenterConnector extends PartnerCenterGateway {
  client: PartnerCenterClient;
  /** Where the price sheets are read (get-a-price-sheet: https://api.partner.microsoft.com). */
  pricingUrl: string;
  /** Approved reservation requests carried out in Azure, with the same app and refresh token. */
  azure: AzureGateway;
  /** The same connector for one command, click or job: each call carries its request ID (MS-CorrelationId). */
  forRequest(request: RequestContext): PartnerCenterConnector;
  status(): Promise<ConnectorStatus>;
}

interface PolicyList {
  items?: { id?: string; permissions?: { action?: string; resource?: string }[] }[];
}

/** The SelfServePolicy resources csp-ops keeps: Azure reservations and Azure savings plans. */
type SelfServeResource = 'AzureReservedInstances' | 'AzureSavingsPlan';
/** Partner Center's self-serve resources, as csp-ops names them. */
export const resourceNames = { AzureReservedInstances: 'azure-reservations', AzureSavingsPlan: 'azure-savings-plans' } as const satisfies Record<SelfServeResource, string>;
type Policy = NonNullable<PolicyList['items']>[number];

/** A customer has one SelfServePolicy holding all its permissions (Partner Center's id is partner_customer). */
export async function customerPolicy(client: PartnerCenterClient, customerTenantId: string): Promise<Policy | undefined> {
  const { body } = await client.request('GET', `/v1/SelfServePolicy?entity_id=${encodeURIComponent(customerTenantId)}`);
  const items = Array.isArray(body) ? (body as PolicyList['items']) : ((body as PolicyList | undefined)?.items ?? []);
  return (items ?? []).find((p) => p.id);
}

/** The resources a policy lets the customer purchase. */
export const grantedResources = (policy: Policy): SelfServeResource[] =>
  (policy.permissions ?? []).flatMap((x) =>
    x.action?.toLowerCase() !== 'purchase' ? [] : x.resource === 'AzureReservedInstances' || x.resource === 'AzureSavingsPlan' ? [x.resource] : [],
  );

/** The customer purchase permissions for Azure reservations and savings plans kept as Partner Center SelfServePolicies. */
export function createPartnerCenterConnector(settings: PartnerCenterSettings & { armBaseUrl?: string }, pricingUrl = 'https://api.partner.microsoft.com'): PartnerCenterConnector {
  // One store of the newest refresh token, for Partner Center's sign-in and Azure's alike.
  const shared = { ...settings, refreshTokens: settings.refreshTokens ?? memoryTokenStore() };
  const processClient = createPartnerCenterClient(shared);
  const processAzure = createAzureReservations({ ...shared, armBaseUrl: settings.armBaseUrl ?? 'https://management.azure.com' });
  let lastError: ConnectorFailure | undefined;

  /** R-A5: the credentials are one partner's; only the organization naming that tenant as its CSP tenant is acted for. */
  function checkOrg(org: Organization) {
    if (!org.cspTenantId) throw new DomainError('partnerCenter.noTenant', { org: org.name, tenant: settings.tenantId });
    if (org.cspTenantId.toLowerCase() !== settings.tenantId.toLowerCase()) {
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

  /** The connector over `client` and `azure`: the process's, or one request's, which give Partner Center and Azure its ID. */
  function connector(client: PartnerCenterClient, azure: AzureGateway): PartnerCenterConnector {
    const grants = (policy: Policy, resource: SelfServeResource) => grantedResources(policy).includes(resource);
    const policyOf = (customerTenantId: string) => customerPolicy(client, customerTenantId);

    /** Writes the customer's policy with these permissions (documented "Update a SelfServePolicy"). */
    function putPolicy(customerTenantId: string, id: string, resources: SelfServeResource[]) {
      return client.request('PUT', `/v1/SelfServePolicy/${encodeURIComponent(id)}`, {
        id,
        SelfServeEntity: { SelfServeEntityType: 'customer', TenantID: customerTenantId },
        Grantor: { GrantorType: 'billToPartner', TenantID: settings.tenantId },
        Permissions: resources.map((r) => ({ Action: 'Purchase', Resource: r })),
      });
    }

    async function allow(org: Organization, customerTenantId: string, resource: SelfServeResource) {
      checkOrg(org);
      await guarded('create SelfServePolicy', async () => {
        for (let attempt = 0; attempt < 2; attempt++) {
          const existing = await policyOf(customerTenantId);
          if (existing && grants(existing, resource)) return;
          if (existing) {
            // The customer already has a policy for the other resource: add this one to it.
            await putPolicy(customerTenantId, existing.id!, [...grantedResources(existing), resource]);
            return;
          }
          try {
            await client.request('POST', '/v1/SelfServePolicy', {
              SelfServeEntity: { SelfServeEntityType: 'customer', TenantID: customerTenantId },
              Grantor: { GrantorType: 'billToPartner', TenantID: settings.tenantId },
              Permissions: [{ Action: 'Purchase', Resource: resource }],
            });
            return;
          } catch (error) {
            // Created meanwhile: read it again and add the permission if it lacks it.
            if (!(error instanceof PartnerCenterError && error.status === 409 && error.code === policyExistsCode)) throw error;
          }
        }
      });
    }

    async function disallow(org: Organization, customerTenantId: string, resource: SelfServeResource) {
      checkOrg(org);
      await guarded('delete SelfServePolicy', async () => {
        const policy = await policyOf(customerTenantId);
        if (!policy || !grants(policy, resource)) return;
        const remaining = grantedResources(policy).filter((r) => r !== resource);
        // Keep the other resource's permission; delete the policy only when nothing is left in it.
        if (remaining.length) return void (await putPolicy(customerTenantId, policy.id!, remaining));
        try {
          await client.request('DELETE', `/v1/SelfServePolicy/${encodeURIComponent(policy.id!)}`);
        } catch (error) {
          // Gone meanwhile: already off.
          if (!(error instanceof PartnerCenterError && error.status === 404 && error.code === policyNotFoundCode)) throw error;
        }
      });
    }

    /** The PATCH body for an edit: the fields it changes, with the subscription's ID and ETag. */
    const patchOf = (change: SubscriptionChange): Partial<RemoteSubscription> => {
      switch (change.kind) {
        case 'rename':
          return { friendlyName: change.name };
        case 'seats':
          return { quantity: change.seats };
        case 'auto-renew':
          return { autoRenewEnabled: change.on };
        case 'reseller':
          return { partnerId: change.mpnId };
        case 'cancel':
          return { status: 'deleted' };
      }
    };

    async function updateSubscription(org: Organization, customerTenantId: string, subscription: Subscription, change: SubscriptionChange) {
      checkOrg(org);
      const path = `/v1/customers/${encodeURIComponent(customerTenantId)}/subscriptions/${encodeURIComponent(subscription.id)}`;
      return guarded('update subscription', async () => {
        const now = new Date();
        try {
          const { body } = await client.request(
            'PATCH',
            path,
            { id: subscription.id, ...patchOf(change), attributes: { etag: subscription.etag, objectType: 'Subscription' } },
            { headers: { 'If-Match': subscription.etag! } },
          );
          return { state: 'updated' as const, columns: subscriptionColumns({ ...(body as RemoteSubscription), id: subscription.id }, now) };
        } catch (error) {
          // 412: Partner Center's copy has another ETag now. Read it again and say what differs.
          if (!(error instanceof PartnerCenterError && error.status === 412)) throw error;
          const { body } = await client.request('GET', path);
          const columns = subscriptionColumns({ ...(body as RemoteSubscription), id: subscription.id }, now);
          return { state: 'conflict' as const, columns, changes: fieldChanges(subscription, columns) };
        }
      });
    }

    return {
      client,
      pricingUrl,
      azure,
      forRequest: (request) => connector(requestClient(processClient, request), processAzure.forRequest(request)),
      updateSubscription,
      buy(org, customerTenantId, purchase, since, onCart) {
        checkOrg(org);
        return guarded('buy in Partner Center', () => buyInPartnerCenter(client, customerTenantId, purchase, since, onCart));
      },
      allowReservations: (org, customerTenantId) => allow(org, customerTenantId, 'AzureReservedInstances'),
      disallowReservations: (org, customerTenantId) => disallow(org, customerTenantId, 'AzureReservedInstances'),
      allowSavingsPlans: (org, customerTenantId) => allow(org, customerTenantId, 'AzureSavingsPlan'),
      disallowSavingsPlans: (org, customerTenantId) => disallow(org, customerTenantId, 'AzureSavingsPlan'),
      async status() {
        let signIn: ConnectorStatus['signIn'];
        try {
          // Asked of Microsoft Entra now, not answered from the access token held: a revoked consent shows at once.
          await client.token(true);
          signIn = { ok: true };
        } catch (error) {
          const e = error as { errorCode?: string; errorMessage?: string; message?: string };
          signIn = { ok: false, reason: [e.errorCode, (e.errorMessage || e.message || String(error)).split('\n')[0]].filter(Boolean).join(': ') };
        }
        return { tenantId: settings.tenantId, baseUrl: settings.baseUrl, signIn, tokenStorage: settings.refreshTokens ? 'database' : 'memory', ...(lastError ? { lastError } : {}) };
      },
    };
  }

  return connector(processClient, processAzure);
}

export type PartnerCenterConfig = {
  PARTNER_CENTER_TENANT_ID?: string;
  PARTNER_CENTER_CLIENT_ID?: string;
  PARTNER_CENTER_CLIENT_SECRET?: string;
  PARTNER_CENTER_REFRESH_TOKEN?: string;
  PARTNER_CENTER_BASE_URL?: string;
  PARTNER_CENTER_AUTHORITY_URL?: string;
  PARTNER_CENTER_TIMEOUT_SECONDS?: number;
  PARTNER_CENTER_MAX_RETRY_AFTER_SECONDS?: number;
  PARTNER_CENTER_PRICING_URL?: string;
  PARTNER_CENTER_TOKEN_KEY?: string;
  AZURE_RESOURCE_MANAGER_URL?: string;
};

/** What the connector keeps its newest refresh token in: the database, sealed with PARTNER_CENTER_TOKEN_KEY. */
export interface ConnectorStorage {
  db: Database;
  log: Logger;
  /** Called after an announcement was queued (the delivery worker's wake-up). */
  onAnnounce?: () => void;
}

/** The connector when its four credentials are set (loadConfig refuses some without the others); otherwise none. */
export function partnerCenterFromConfig(config: PartnerCenterConfig, tuning: Partial<PartnerCenterSettings> = {}, storage?: ConnectorStorage): PartnerCenterConnector | undefined {
  const { PARTNER_CENTER_TENANT_ID: tenantId, PARTNER_CENTER_CLIENT_ID: clientId, PARTNER_CENTER_CLIENT_SECRET: clientSecret, PARTNER_CENTER_REFRESH_TOKEN: refreshToken } = config;
  if (!tenantId || !clientId || !clientSecret || !refreshToken) return undefined;
  const key = config.PARTNER_CENTER_TOKEN_KEY ? tokenKeyBytes(config.PARTNER_CENTER_TOKEN_KEY) : undefined;
  if (storage && !key) storage.log.warn('Partner Center: PARTNER_CENTER_TOKEN_KEY is not set, so the newest refresh token is kept in memory only and lost at restart');
  return createPartnerCenterConnector({
    tenantId,
    clientId,
    clientSecret,
    refreshToken,
    baseUrl: (config.PARTNER_CENTER_BASE_URL ?? 'https://api.partnercenter.microsoft.com').replace(/\/+$/, ''),
    authorityUrl: (config.PARTNER_CENTER_AUTHORITY_URL ?? 'https://login.microsoftonline.com').replace(/\/+$/, ''),
    armBaseUrl: (config.AZURE_RESOURCE_MANAGER_URL ?? 'https://management.azure.com').replace(/\/+$/, ''),
    ...(config.PARTNER_CENTER_TIMEOUT_SECONDS ? { timeoutMs: config.PARTNER_CENTER_TIMEOUT_SECONDS * 1000 } : {}),
    ...(config.PARTNER_CENTER_MAX_RETRY_AFTER_SECONDS !== undefined ? { maxRetryAfterMs: config.PARTNER_CENTER_MAX_RETRY_AFTER_SECONDS * 1000 } : {}),
    ...(storage && key ? { refreshTokens: databaseTokenStore(storage.db, tenantId, tokenCipher(key), storage.log, storage.onAnnounce) } : {}),
    ...tuning,
  }, (config.PARTNER_CENTER_PRICING_URL ?? 'https://api.partner.microsoft.com').replace(/\/+$/, ''));
}
