import type { MessageKey, MessageParams, Translate } from '../../src/i18n/index.js';
import { testOrganization } from './fixture.js';
import type { Locales } from './platforms.js';

/** The test organization speaking `locale` by default, with its times in `timeZone`. */
export const organizationIn = (locale: string, timeZone?: string) => ({ ...testOrganization, organization: { ...testOrganization.organization, locale, ...(timeZone ? { timeZone } : {}) } });
/** Everyone's Slack or Teams client in one language. */
export const everyone = (locale: string): Locales => ({ globalAdmin: locale, adminAgent: locale, salesAgent: locale, helpdeskAgent: locale, contact: locale });
/** A reservation of Contoso that its contact may ask about. */
export const customerOwn = 'r1000000-0000-4000-8000-000000000002';

/** A catalog sentence as a pattern, its `unknown` parameters (a time, a count) matching anything. */
export function sentence(t: Translate, key: MessageKey, params: MessageParams, unknown: string[]): RegExp {
  const marked = t(key, { ...params, ...Object.fromEntries(unknown.map((name) => [name, 987_654])) });
  return new RegExp(marked.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/987,?654/g, '.+?'));
}
