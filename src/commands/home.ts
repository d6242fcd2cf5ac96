import { isAdmin } from '../core/access.js';
import type { Actor } from '../core/context.js';
import { closingWindows } from '../core/marketplace.js';
import { latestPurchases } from '../core/purchases.js';
import { formatMoney, formatTimestamp } from '../i18n/index.js';
import type { View } from '../views/model.js';
import type { CommandEnv, OrgEnv } from './context.js';
import { parseCommand } from './grammar.js';
import { connectorStatusView } from './handlers.js';
import { accessNotice } from './help.js';
import { notifyFailuresView } from './notifications.js';
import { purchaseItem, reservationNotes, reservationScopes } from './purchases.js';
import { customerRequestsView, pendingRequestCards } from './requests.js';

/** How many rows of each list the home view shows; the commands it names list every one. */
const listed = 5;
/** Cancellation windows closing this soon are shown (R-M10). */
const windowHours = 48;

type Staff = Extract<Actor, { kind: 'staff' }>;

/**
 * Requests waiting for a decision, each as its approval card: an admin gets its Approve and Reject
 * buttons, which act exactly as the card's in the approvals channel; other staff only look (R-A3).
 */
async function waitingSections(env: OrgEnv, staff: Staff): Promise<View[]> {
  const { t } = env;
  const { cards, total } = await pendingRequestCards(env, listed);
  const admin = isAdmin(staff);
  const more = total - cards.length;
  const header: View = {
    title: t('home.waiting', { count: total }),
    lines: [
      ...(total ? [] : [t('home.waitingNone')]),
      ...(total && !admin ? [t('home.waitingReadOnly')] : []),
      ...(more > 0 ? [t('home.waitingMore', { count: more, command: `${env.prefix}requests pending` })] : []),
    ],
  };
  return [header, ...cards.map((card) => (admin ? card : { ...card, actions: [] }))];
}

async function windowsSection(env: OrgEnv): Promise<View> {
  const { t } = env;
  const rows = await closingWindows(env.db, env.org.id, env.now(), windowHours);
  const lines = rows.slice(0, listed).map(({ subscription: s, offer, customer, closes }) =>
    `• ${t('home.windowRow', {
      customer: customer.name,
      name: s.friendlyName ?? s.id,
      offer: offer?.name ?? s.offerId ?? '',
      plan: offer?.plans.find((p) => p.id === s.planId)?.name ?? s.planId ?? '',
      closes,
      subscription: s.id,
    })}`,
  );
  if (rows.length > listed) lines.push(t('home.more', { count: rows.length - listed }));
  return { title: t('home.windows', { hours: windowHours }), lines: lines.length ? lines : [t('home.windowsNone', { hours: windowHours })] };
}

async function purchasesSection(env: OrgEnv): Promise<View> {
  const { t } = env;
  const rows = await latestPurchases(env.db, env.org.id, listed);
  const lines = rows.map((p) =>
    `• ${t('digest.row', { date: formatTimestamp(t, p.purchasedAt), customer: p.customerName, item: purchaseItem(t, p), price: formatMoney(t, Number(p.price), p.currency), buyer: p.buyerName })}`,
  );
  const notes = reservationNotes(t, reservationScopes(rows));
  return { title: t('home.purchases'), lines: lines.length ? [...lines, ...notes] : [t('home.purchasesNone')] };
}

/** `notify failures`, shorter; sending them again is for admins (R-A3). */
async function failuresSection(env: OrgEnv, staff: Staff): Promise<View> {
  const failures = await notifyFailuresView(env, false, listed);
  return { ...failures, title: failures.title ?? env.t('home.failures'), actions: isAdmin(staff) ? failures.actions : [] };
}

async function staffSections(env: OrgEnv, staff: Staff): Promise<View[]> {
  if (env.org.kind === 'publisher') return [{ lines: [env.t('home.publisher', { prefix: env.prefix })] }];
  const [waiting, windows, purchases, failures, connector] = await Promise.all([
    waitingSections(env, staff),
    windowsSection(env),
    purchasesSection(env),
    failuresSection(env, staff),
    connectorStatusView(env),
  ]);
  return [...waiting, windows, purchases, failures, connector];
}

/**
 * The home view, built anew each time it is opened: for staff what waits for them, for a customer
 * contact their customer's requests and outcomes, in the reader's language and time zone; outside a
 * linked organization, or to someone it does not know, the notice help gives.
 */
export async function homeView(env: CommandEnv): Promise<View> {
  const { t } = env;
  if (!env.org || env.actor.kind === 'unknown') return { title: t('home.title'), lines: accessNotice(env) };
  const orgEnv = { ...env, org: env.org };
  const { actor } = env;
  const role = t(actor.kind === 'staff' ? `role.${actor.role}` : 'role.contact');
  const sections = actor.kind === 'contact' ? [await customerRequestsView(orgEnv, actor.customerId, listed * 2)] : await staffSections(orgEnv, actor);
  return { title: t('home.title'), lines: [t('home.reader', { name: actor.name, role, date: env.now() })], sections };
}

/** The home view with what a click in it did (or why it was refused) shown first, to the clicker alone. */
export function withOutcome(home: View, outcome: View | undefined): View {
  return outcome ? { ...home, sections: [outcome, ...(home.sections ?? [])] } : home;
}

/** Whether a message asks for the home view (`home`). */
export function isHomeCommand(text: string): boolean {
  try {
    return parseCommand(text).name === 'home';
  } catch {
    return false;
  }
}
