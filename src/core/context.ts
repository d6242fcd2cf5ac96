import type { Database, Queryable } from '../../db/client.js';
import type { StaffRole } from '../../db/schema.js';

export type Actor =
  | { kind: 'staff'; id: string; name: string; role: StaffRole }
  | { kind: 'contact'; id: string; name: string; customerId: string }
  | { kind: 'unknown' };

export interface Organization {
  id: string;
  name: string;
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
