import { sql } from 'drizzle-orm';
import type { Database } from '../db/client.js';

export interface LargeDataSize { customers: number; activity: number }

/** postgres.js answers rows, PGlite { rows }. */
const rows = <T>(result: unknown): T[] => ((result as { rows?: T[] }).rows ?? (result as T[]));

const name = (n: number) => `Large Customer ${String(n).padStart(6, '0')}`;

/** Adds generated customers and activity entries to organization orgId (one SQL statement each); returns a customer name and tenant ID worth querying. */
export async function seedLargeOrganization(db: Database, orgId: string, size: LargeDataSize): Promise<{ customerName: string; tenantId: string }> {
  // Names, keys, domains and tenant IDs all distinct; the tenant ID is a UUID derived from the number.
  await db.execute(sql`
    insert into customers (org_id, name, name_key, domain, tenant_id, billing_country)
    select ${orgId}, 'Large Customer ' || lpad(i::text, 6, '0'), 'large customer ' || lpad(i::text, 6, '0'),
           'large-' || i || '.bench.example', md5('large-' || i)::uuid::text, 'US'
    from generate_series(1, ${size.customers}) as i`);
  // Entries spread evenly over those customers, one a minute going back from now.
  await db.execute(sql`
    with numbered as (
      select id, row_number() over (order by name_key) - 1 as n
      from customers where org_id = ${orgId} and name_key like 'large customer %'
    )
    insert into activity_log (org_id, customer_id, actor_name, action, details, created_at)
    select ${orgId}, numbered.id, 'Bench', 'owner_role_confirmed', jsonb_build_object('subscription', 'sub-' || g), now() - g * interval '1 minute'
    from generate_series(0, ${size.activity - 1}) as g
    join numbered on numbered.n = g % ${size.customers}`);
  const middle = Math.ceil(size.customers / 2);
  const [customer] = rows<{ tenantId: string }>(
    await db.execute(sql`select tenant_id as "tenantId" from customers where org_id = ${orgId} and name_key = ${name(middle).toLowerCase()}`),
  );
  return { customerName: name(middle), tenantId: customer!.tenantId };
}
