import type { ImportFileInput } from '../../src/core/import-schema.js';

/** Slack user IDs of the test organization's people, by role. */
export const users = {
  globalAdmin: 'UGLOBAL01',
  adminAgent: 'UADMIN001',
  salesAgent: 'USALES001',
  helpdeskAgent: 'UHELP0001',
  contact: 'UCONTACT1',
  stranger: 'USTRANGER',
} as const;

export const teamId = 'T0TEST0001';
/** The test organization's Microsoft Entra tenant (its Teams workspace). */
export const teamsTenantId = '0a0a0a0a-0000-4000-8000-00000000000a';

/** Teams (AAD object) IDs of the same people. */
export const aadUsers: Record<keyof typeof users, string> = {
  globalAdmin: 'a0000000-0000-4000-8000-000000000001',
  adminAgent: 'a0000000-0000-4000-8000-000000000002',
  salesAgent: 'a0000000-0000-4000-8000-000000000003',
  helpdeskAgent: 'a0000000-0000-4000-8000-000000000004',
  contact: 'a0000000-0000-4000-8000-000000000005',
  stranger: 'a0000000-0000-4000-8000-000000000009',
};
export const otherTeamId = 'T0OTHER001';

export const tenants = {
  contoso: '11111111-1111-4111-8111-111111111111',
  contosoPharma: '22222222-2222-4222-8222-222222222222',
  hanbit: '55555555-5555-4555-8555-555555555555',
  taiwanCloud: '88888888-8888-4888-8888-888888888888',
  busan: '77777777-7777-4777-8777-777777777777',
  kaohsiung: '99999999-9999-4999-8999-999999999999',
  cafe: 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa',
} as const;

export const hanbitSubscription = 'b2b2b2b2-0000-4000-8000-000000000005';

export const testOrganization = {
  organization: { name: '한빛 클라우드 파트너스', slackTeamId: teamId, teamsTenantId },
  staff: [
    { name: '박지훈', email: 'jihoon.park@partner.example', role: 'global-admin', slackUserId: users.globalAdmin, teamsAadObjectId: aadUsers.globalAdmin },
    { name: '王小明', email: 'xiaoming.wang@partner.example', role: 'admin-agent', slackUserId: users.adminAgent, teamsAadObjectId: aadUsers.adminAgent },
    { name: '陳怡君', email: 'yijun.chen@partner.example', role: 'sales-agent', slackUserId: users.salesAgent, teamsAadObjectId: aadUsers.salesAgent },
    { name: '최수아', email: 'sua.choi@partner.example', role: 'helpdesk-agent', slackUserId: users.helpdeskAgent, teamsAadObjectId: aadUsers.helpdeskAgent },
  ],
  customers: [
    {
      name: 'Contoso Ltd', domain: 'contoso.com', tenantId: tenants.contoso, billingCountry: 'US',
      contacts: [{ name: 'Dana', email: 'dana@contoso.com', slackUserId: users.contact, teamsAadObjectId: aadUsers.contact }],
      subscriptions: [{ id: 'c0c0c0c0-0000-4000-8000-000000000001', offer: 'azure-plan', friendlyName: 'Production', status: 'active', ownerRoleAssigned: true }],
      reservations: [
        {
          id: 'r1000000-0000-4000-8000-000000000001', product: 'Virtual Machines D2s v5', region: 'koreacentral', quantity: 4, term: 'P1Y',
          billingPlan: 'upfront', scope: 'shared', price: 3120.5, currency: 'USD', purchasedBy: 'partner', purchasedAt: '2026-02-01T09:00:00Z',
        },
        {
          id: 'r1000000-0000-4000-8000-000000000002', product: 'SQL Database vCore', region: 'eastasia', quantity: 2, term: 'P3Y',
          billingPlan: 'monthly', scope: 'single', subscriptionId: 'c0c0c0c0-0000-4000-8000-000000000001', price: 88.25, currency: 'USD',
          purchasedBy: 'customer', purchasedAt: '2026-05-15T02:30:00Z',
        },
      ],
    },
    {
      name: 'Contoso Pharmaceuticals', domain: 'contosopharma.com', tenantId: tenants.contosoPharma, billingCountry: 'US',
      subscriptions: [{ id: 'c0c0c0c0-0000-4000-8000-000000000002', offer: 'azure-plan', status: 'active', ownerRoleAssigned: true }],
      reservations: [
        {
          id: 'r2000000-0000-4000-8000-000000000001', product: 'App Service Premium v3', region: 'japaneast', quantity: 1, term: 'P1Y',
          billingPlan: 'monthly', scope: 'shared', price: 140, currency: 'USD', purchasedBy: 'customer', purchasedAt: '2026-03-10T00:00:00Z',
        },
      ],
    },
    {
      name: '한빛소프트 주식회사', domain: 'hanbitsoft.example', tenantId: tenants.hanbit, billingCountry: 'KR',
      subscriptions: [{ id: hanbitSubscription, offer: 'azure-plan', friendlyName: '한빛 운영', status: 'active' }],
    },
    {
      name: '台灣雲端科技股份有限公司', domain: 'twcloud.example', tenantId: tenants.taiwanCloud, billingCountry: 'TW',
      subscriptions: [{ id: 'c0c0c0c0-0000-4000-8000-000000000008', offer: 'azure-global', friendlyName: '台北生產環境', status: 'active', ownerRoleAssigned: true }],
    },
    {
      name: '부산해운', domain: 'busanshipping.example', tenantId: tenants.busan, billingCountry: 'KR',
      subscriptions: [{ id: 'c0c0c0c0-0000-4000-8000-000000000007', offer: 'azure-plan', status: 'suspended', ownerRoleAssigned: true }],
    },
    {
      name: '高雄精密工業', domain: 'kaohsiung-precision.example', tenantId: tenants.kaohsiung, billingCountry: 'TW',
      subscriptions: [{ id: 'saas-kp-crm', offer: 'marketplace-saas', friendlyName: 'CRM 雲端版', status: 'active' }],
    },
    {
      name: 'Café Lumière', domain: 'cafe-lumiere.example', tenantId: tenants.cafe, billingCountry: 'FR',
      subscriptions: [{ id: 'c0c0c0c0-0000-4000-8000-00000000000a', offer: 'azure-global', status: 'active', ownerRoleAssigned: true }],
    },
  ],
} satisfies ImportFileInput;

/** A second partner with a customer of the same name: nothing may cross over (R-A5). */
export const otherOrganization = {
  organization: { name: '他社パートナー', slackTeamId: otherTeamId },
  staff: [{ name: 'Other Admin', email: 'admin@other.example', role: 'global-admin', slackUserId: users.adminAgent }],
  customers: [
    {
      name: 'Contoso Ltd', domain: 'contoso.com', tenantId: tenants.contoso, billingCountry: 'US',
      contacts: [],
      subscriptions: [{ id: 'c0c0c0c0-0000-4000-8000-000000000001', offer: 'azure-plan', status: 'active', ownerRoleAssigned: true }],
    },
  ],
} satisfies ImportFileInput;

/** The test organization naming a CSP tenant: the Partner Center connector signed in for that tenant acts for it (R-A5). */
export const connectedOrganization = (cspTenantId: string) => ({ ...testOrganization, organization: { ...testOrganization.organization, cspTenantId } });
