import { createRequire } from 'node:module';
import type * as AdaptiveCards from 'adaptivecards';

/*
 * The official `adaptivecards` parser, from its prebuilt UMD bundle: the package's lib/ build is ESM
 * with extensionless imports and does not load in Node. Parsing and validating need no DOM (the
 * bundle checks `typeof window`/`document` first; only render() touches them), so there is no shim.
 * The types come from lib/'s typings, which describe the same API.
 */
const AC = createRequire(import.meta.url)('adaptivecards/dist/adaptivecards.js') as typeof AdaptiveCards;

// Limits on buttons, the same as Slack's (test/helpers/block-kit.ts).
const maxButtonTitle = 75;
const maxButtonValue = 2000;
/** Teams refuses a bot message over about 28 KB; csp-ops keeps its cards under this (src/views/teams.ts). */
const maxCardBytes = 25_000;

const isRecord = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const isEmpty = (x: unknown) => x === '' || (Array.isArray(x) && x.length === 0);

/** Paths of properties in `sent` that the parser dropped or changed. It leaves out empty strings and arrays, so those are skipped. */
function dropped(sent: unknown, kept: unknown, path: string): string[] {
  if (Array.isArray(sent)) {
    if (!Array.isArray(kept)) return [path];
    if (kept.length !== sent.length) return [`${path} (${sent.length} items sent, ${kept.length} kept)`];
    return sent.flatMap((item, i) => dropped(item, kept[i], `${path}[${i}]`));
  }
  if (isRecord(sent)) {
    if (!isRecord(kept)) return [path];
    return Object.entries(sent).flatMap(([key, value]) =>
      isEmpty(value) ? [] : key in kept ? dropped(value, kept[key], `${path}.${key}`) : [`${path}.${key}`]);
  }
  return Object.is(sent, kept) ? [] : [path];
}

/** Every Action.Execute anywhere in the card (card actions, ActionSets, nested cards). */
function executeActions(node: unknown): Record<string, unknown>[] {
  if (Array.isArray(node)) return node.flatMap(executeActions);
  if (!isRecord(node)) return [];
  return [...(node.type === 'Action.Execute' ? [node] : []), ...Object.values(node).flatMap(executeActions)];
}

/** Throws, listing every problem, unless `card` is a valid Adaptive Card 1.5 within the limits csp-ops relies on. */
export function validateAdaptiveCard(card: unknown): void {
  if (!isRecord(card)) throw new Error(`Invalid Adaptive Card: not an object: ${JSON.stringify(card)}`);
  const problems: string[] = [];
  // The parser accepts 1.6 (its latest), so the version is checked here.
  if (card.version !== '1.5') problems.push(`version must be "1.5", not ${JSON.stringify(card.version)}`);

  const parsed = new AC.AdaptiveCard();
  // The library's default host allows 5 card actions; Teams shows about 6. csp-ops does not rely on either.
  parsed.hostConfig = new AC.HostConfig({ actions: { maxActions: 100 } });
  // Parsing for 1.5 reports elements, actions and properties newer than 1.5.
  const context = new AC.SerializationContext(AC.Versions.v1_5);
  parsed.parse(card, context);
  for (let i = 0; i < context.eventCount; i++) {
    const event = context.getEventAt(i);
    problems.push(`parse: ${AC.ValidationEvent[event.event]}: ${event.message}`);
  }
  for (const event of parsed.validateProperties().validationEvents) problems.push(`validate: ${AC.ValidationEvent[event.event]}: ${event.message}`);
  // The parser silently ignores unknown properties (a typo such as `wraps`) and some values it cannot
  // read; what it kept, serialized again, shows them.
  for (const path of dropped(card, parsed.toJSON(new AC.SerializationContext(AC.Versions.v1_5)), 'card')) {
    problems.push(`dropped or changed by the 1.5 parser: ${path}`);
  }

  for (const [i, action] of executeActions(card).entries()) {
    const data = isRecord(action.data) ? action.data : {};
    const title = typeof action.title === 'string' ? action.title : '';
    if (typeof action.verb !== 'string' || !action.verb) problems.push(`Action.Execute #${i} needs a non-empty verb`);
    if (!title || title.length > maxButtonTitle) problems.push(`Action.Execute #${i} needs a title of 1–${maxButtonTitle} characters, not ${title.length}`);
    if (typeof data.value !== 'string') problems.push(`Action.Execute #${i} needs a string data.value`);
    else if (data.value.length > maxButtonValue) problems.push(`Action.Execute #${i}: data.value has ${data.value.length} characters, over ${maxButtonValue}`);
  }

  const size = Buffer.byteLength(JSON.stringify(card));
  if (size > maxCardBytes) problems.push(`the card is ${size} bytes, over ${maxCardBytes}`);

  if (problems.length) throw new Error(`Invalid Adaptive Card 1.5:\n- ${problems.join('\n- ')}\nin ${JSON.stringify(card, null, 2)}`);
}
