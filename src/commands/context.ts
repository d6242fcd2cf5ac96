import type { Database } from '../../db/client.js';
import type { Actor, Conversation, CoreContext, Organization } from '../core/context.js';
import type { DomainError } from '../core/errors.js';
import type { PartnerCenterConnector } from '../partner-center/connector.js';
import type { Translate } from '../i18n/index.js';
import type { Telemetry } from '../observability.js';
import type { RequestContext } from '../request-context.js';

/** Everything a command needs, built by an adapter from the platform's signed request. */
export interface CommandEnv {
  db: Database;
  /** Undefined when the workspace is linked to no organization: only help works. */
  org: Organization | undefined;
  actor: Actor;
  conversation: Conversation;
  t: Translate;
  /** The language the person's Slack or Teams client uses, when the platform says (Slack is asked only when needed). */
  platformLocale?: () => Promise<string | null>;
  /** How commands are typed where the user is: `/csp ` in Slack, `npm run csp -- ` in a terminal. */
  prefix: string;
  /** The platform's workspace ID, named in the reply when it is not linked. */
  workspaceId?: string;
  now: () => Date;
  /** The command's or click's request: its ID is on its log lines and its Partner Center calls. */
  request: RequestContext;
  logError: (errorId: string, error: unknown) => void;
  /** Where each command and click is logged and counted (src/observability.ts). */
  telemetry?: Pick<Telemetry, 'handled'>;
  /** The Partner Center connector, when its settings are present. */
  partnerCenter?: PartnerCenterConnector;
  /** Hosts `audience … import <url>` may read from though they resolve to private addresses (AUDIENCE_IMPORT_ALLOWED_HOSTS). */
  audienceImportAllowedHosts?: readonly string[];
}

/** A command's environment once the organization is known. */
export type OrgEnv = CommandEnv & { org: Organization };

export function coreContext(env: CommandEnv & { org: Organization }): CoreContext {
  return { db: env.db, org: env.org, actor: env.actor, conversation: env.conversation, now: env.now, ...(env.partnerCenter ? { partnerCenter: env.partnerCenter } : {}) };
}

/** The sentence a DomainError says to the user where they are: its terms translated, its commands after their prefix. */
export function errorText(env: Pick<CommandEnv, 't' | 'prefix'>, error: DomainError): string {
  const { t } = env;
  const terms = Object.fromEntries(Object.entries(error.terms).map(([name, key]) => [name, t(key)]));
  const commands = Object.fromEntries(error.commands.map((name) => [name, `${env.prefix}${error.params[name]}`]));
  const text = t(error.code, { prefix: env.prefix, ...error.params, ...terms, ...commands });
  return error.advice ? `${text} ${t(error.advice)}` : text;
}
