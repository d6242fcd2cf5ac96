import type { Database, Queryable } from '../../db/client.js';
import type { StaffRole } from '../../db/schema.js';

export type Actor =
  | { kind: 'staff'; id: string; name: string; role: StaffRole }
  | { kind: 'contact'; id: string; name: string; customerId: string }
  | { kind: 'unknown' };

export interface Organization {
  id: string;
  name: string;
  /** A CSP partner, or a software publisher managing its offers' CSP audiences (loaded by orgColumns; optional for hand-built contexts). */
  kind?: 'partner' | 'publisher';
  /** A partner's CSP tenant ID: how publishers' audiences name it (R-M2, R-I4); absent or null: none. */
  cspTenantId?: string | null;
  activityChannelPlatform: string | null;
  activityChannelId: string | null;
  approvalsChannelPlatform: string | null;
  approvalsChannelId: string | null;
}

export type Platform = 'slack' | 'teams' | 'cli';

/** Where a command ran: announcements go back there unless the organization set an activity channel. */
export interface Conversation {
  platform: Platform;
  channelId: string | null;
}

export interface CoreContext {
  db: Database;
  org: Organization;
  actor: Actor;
  conversation: Conversation;
  now: () => Date;
}

export type { Database, Queryable };
