import { copyFile, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Database } from '../../../db/client.js';
import type { CommandEnv } from '../../commands/context.js';
import type { PartnerCenterConnector } from '../../partner-center/connector.js';
import { runAction, runCommand } from '../../commands/dispatch.js';
import { staffByEmail } from '../../core/access.js';
import { DomainError } from '../../core/errors.js';
import { createApiToken, listApiTokens, ownPublisherName, revokeApiToken } from '../../core/api-tokens.js';
import { removeDemoOrganizations } from '../../core/demo.js';
import type { Organization } from '../../core/context.js';
import { describeIssues, ImportError, importOrganization, parseImportFile } from '../../core/import.js';
import { organizationNamed } from '../../core/organizations.js';
import { createSlackLinkCode } from '../../core/slack-workspaces.js';
import { purchaseInputSchema, recordPurchase } from '../../core/purchases.js';
import { pollAuditRecords } from '../../partner-center/audit.js';
import { PartnerCenterError, requestClient } from '../../partner-center/client.js';
import { syncOrganization } from '../../partner-center/sync.js';
import { refreshCatalogNow } from '../../partner-center/catalog.js';
import { checkConnector, type CheckSettings } from '../../partner-center/check.js';
import type { Config } from '../../config.js';
import { forRequest, type Logger } from '../../log.js';
import { newRequest, type RequestContext } from '../../request-context.js';
import { recordActivation, type ActivationStep } from '../../core/marketplace.js';
import { readerTranslator } from '../../core/languages.js';
import { formatTimestamp, translator, type Translate } from '../../i18n/index.js';
import { renderText, visibleControls } from '../../views/model.js';

export interface CliResult {
  output: string;
  exitCode: number;
  /**
   * Files the command made, written by the terminal's own process (see saveCliFiles): a price list's
   * bytes, or an export's temporary file on this machine (the bridge to the bot is loopback only).
   */
  files?: ({ name: string; base64: string } | { name: string; path: string })[];
}

/**
 * The terminal adapter: the same grammar and core as chat, acting as the staff
 * member named by --as. A confirmation's primary button is clicked by --yes.
 */
export async function runCli(
  db: Database,
  argv: string[],
  given: {
    partnerCenter?: PartnerCenterConnector;
    config?: CheckSettings & Partial<Pick<Config, 'PUBLIC_URL' | 'AUDIENCE_IMPORT_ALLOWED_HOSTS'>>;
    log?: Logger;
    telemetry?: CommandEnv['telemetry'];
    /** The CLI bridge's HTTP request; a command run in the terminal is a request of its own. */
    request?: RequestContext;
  } = {},
): Promise<CliResult> {
  const t = translator('en');
  const request = given.request ?? newRequest();
  // Its log lines and Partner Center calls carry the request's ID; the client given (one a stop cuts short) is kept.
  const connector = given.partnerCenter;
  const options = {
    ...given,
    log: given.log && forRequest(given.log, request),
    partnerCenter: connector && { ...connector.forRequest(request), client: requestClient(connector.client, request) },
  };
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        as: { type: 'string' },
        org: { type: 'string' },
        yes: { type: 'boolean', short: 'y' },
        help: { type: 'boolean', short: 'h' },
        publisher: { type: 'string' },
        licenses: { type: 'boolean' },
        // Read by src/cli.ts, which writes the files where the terminal is.
        out: { type: 'string' },
      },
    });
  } catch (error) {
    return { output: `${(error as Error).message}\n${t('cli.usage')}`, exitCode: 2 };
  }
  const { positionals, values } = parsed;
  if (values.help) return { output: t('cli.usage'), exitCode: 0 };
  if (positionals.length === 0) return { output: t('cli.usage'), exitCode: 2 };
  if (positionals[0] === 'import') {
    if (positionals.length !== 2) return { output: t('cli.importUsage'), exitCode: 2 };
    return importFile(db, t, positionals[1]!);
  }
  if (positionals[0] === 'api-token' || positionals[0] === 'record-purchase') {
    try {
      const org = await organizationNamed(db, values.org);
      return positionals[0] === 'api-token'
        ? await apiToken(db, t, org, positionals.slice(1), values.publisher)
        : await purchaseFromCli(db, t, org, positionals.slice(1));
    } catch (error) {
      if (error instanceof DomainError) return { output: t(error.code, error.params), exitCode: 1 };
      throw error;
    }
  }
  if (positionals[0] === 'slack') {
    if (positionals[1] !== 'link-code' || positionals.length !== 2) return { output: t('cli.slackUsage'), exitCode: 2 };
    try {
      return await slackLinkCode(db, t, await organizationNamed(db, values.org), options.config?.PUBLIC_URL ?? '');
    } catch (error) {
      if (error instanceof DomainError) return { output: t(error.code, error.params), exitCode: 1 };
      throw error;
    }
  }
  if (positionals[0] === 'poll-purchases' || positionals[0] === 'sync') {
    if (!options.partnerCenter) return { output: t('cli.pollNoConnector'), exitCode: 1 };
    const { client } = options.partnerCenter;
    try {
      // R-A5: without --org, the organization whose CSP tenant is the connector's.
      const org = await organizationNamed(db, values.org, client.tenantId);
      if (positionals[0] === 'sync') return { output: t('cli.syncDone', { ...(await syncOrganization(db, client, org, options.log)) }), exitCode: 0 };
      return { output: t('cli.pollDone', { ...(await pollAuditRecords(db, client, org, new Date(), options.log)) }), exitCode: 0 };
    } catch (error) {
      if (error instanceof DomainError) return { output: t(error.code, error.params), exitCode: 1 };
      // What was read stays read: running it again resumes from there.
      if (error instanceof PartnerCenterError) return { output: `${error.message}\n${t('cli.resumes')}`, exitCode: 1 };
      throw error;
    }
  }
  if (positionals[0] === 'refresh-catalog' && positionals.length === 1) {
    if (!options.partnerCenter) return { output: t('cli.pollNoConnector'), exitCode: 1 };
    const { client, pricingUrl } = options.partnerCenter;
    try {
      const { offers, markets } = await refreshCatalogNow(db, client, pricingUrl, options.log);
      // No customer billing country stored yet: nothing to read the catalog for until a sync brings the customers.
      if (!markets.length) return { output: t('cli.catalogNoMarkets', { tenant: client.tenantId }), exitCode: 1 };
      return { output: t('cli.catalogRefreshed', { offers, markets: markets.join(', ') }), exitCode: 0 };
    } catch (error) {
      // The catalog is stored only once every market was read: nothing changed.
      if (error instanceof PartnerCenterError) return { output: `${error.message}\n${t('cli.catalogUnchanged')}`, exitCode: 1 };
      throw error;
    }
  }
  if (positionals[0] === 'connector' && positionals[1] === 'check' && positionals.length === 2) {
    if (!options.partnerCenter) return { output: t('cli.pollNoConnector'), exitCode: 1 };
    const lines = await checkConnector(options.partnerCenter, options.config ?? {});
    const failures = lines.filter((l) => l.failed).length;
    const output = [t('check.title'), ...lines.map((l) => t(l.key, l.params ?? {})), failures ? t('check.toFix', { count: failures }) : t('check.allOk')];
    return { output: output.join('\n'), exitCode: failures ? 1 : 0 };
  }
  if (positionals[0] === 'demo') return positionals[1] === 'remove' && positionals.length === 2 ? demoRemove(db, t) : { output: t('cli.demoUsage'), exitCode: 2 };
  if (positionals[0] === 'saas') return saasActivation(db, t, positionals.slice(1), values.licenses ?? false);
  if (!values.as) return { output: `${t('cli.asMissing')}\n${t('cli.usage')}`, exitCode: 2 };

  let identity;
  try {
    identity = await staffByEmail(db, values.as, values.org);
  } catch (error) {
    if (error instanceof DomainError) return { output: t(error.code, error.params), exitCode: 1 };
    throw error;
  }
  const env: CommandEnv = {
    db,
    ...identity,
    conversation: { platform: 'cli', channelId: null },
    // The terminal has no language of its own to go by: the person's choice, else the organization's.
    t: readerTranslator(identity.org, identity.actor),
    prefix: 'npm run csp -- ',
    now: () => new Date(),
    request,
    logError: (id, error) => console.error(`error ${id}`, error),
    telemetry: options.telemetry,
    ...(options.partnerCenter ? { partnerCenter: options.partnerCenter } : {}),
    audienceImportAllowedHosts: options.config?.AUDIENCE_IMPORT_ALLOWED_HOSTS,
  };
  let view = await runCommand(env, positionals.join(' '));
  const outputs = [renderText(view)];
  // Choices (which customer, next page) are commands to type here.
  const choices = (view.actions ?? []).filter((a) => a.id === 'run');
  // A choice's label holds a customer name: its control characters are shown, as renderText does.
  if (choices.length) outputs[0] += `\n${visibleControls(choices.map((a) => env.t('cli.choice', { label: a.label, command: `${env.prefix}${a.value} --as ${values.as}` })).join('\n'))}`;
  const primary = view.actions?.find((a) => a.style);
  if (primary && values.yes) {
    view = await runAction(env, primary.id, primary.value);
    outputs.push(renderText(view));
  } else if (primary) {
    outputs.push(env.t('cli.confirmWithYes', { action: primary.label.toLowerCase() }));
  }
  const files = view.files?.map((f) => ('data' in f ? { name: f.name, base64: f.data.toString('base64') } : { name: f.name, path: f.path }));
  return { output: outputs.join('\n\n'), exitCode: view.failed ? 1 : 0, ...(files?.length ? { files } : {}) };
}

/**
 * Writes a result's files into `dir` and names each in the output. The CLI may
 * have run inside the bot (over the loopback bridge): the files travel back in
 * the result, so they land where the terminal is, not where the bot runs.
 */
export async function saveCliFiles(result: CliResult, dir: string): Promise<CliResult> {
  if (!result.files?.length) return result;
  const t = translator('en');
  const lines = [result.output];
  let exitCode = result.exitCode;
  for (const file of result.files) {
    const path = join(dir, basename(file.name));
    try {
      await mkdir(dir, { recursive: true });
      if ('base64' in file) await writeFile(path, Buffer.from(file.base64, 'base64'));
      else await moveFile(file.path, path);
      lines.push(t('cli.fileWritten', { path }));
    } catch (error) {
      lines.push(t('cli.fileUnwritable', { path, reason: (error as Error).message }));
      exitCode = 1;
    } finally {
      if ('path' in file) await rm(file.path, { force: true });
    }
  }
  return { output: lines.join('\n'), exitCode };
}

/** Moves a file, copying it when the destination is on another file system. */
async function moveFile(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
    await copyFile(from, to);
  }
}

async function importFile(db: Database, t: Translate, path: string): Promise<CliResult> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? t('cli.noSuchFile') : (error as Error).message;
    return { output: t('cli.unreadable', { path, reason }), exitCode: 1 };
  }
  try {
    const file = parseImportFile(json);
    const { counts } = await importOrganization(db, file);
    if (file.organization.kind === 'publisher') return { output: t('cli.importedPublisher', { ...counts, name: file.organization.name }), exitCode: 0 };
    return { output: t('cli.imported', counts), exitCode: 0 };
  } catch (error) {
    if (!(error instanceof ImportError)) throw error;
    const problems = error.problems.join('\n');
    return { output: t(error.kind === 'invalid' ? 'cli.invalidFile' : 'cli.importConflict', { problems }), exitCode: 1 };
  }
}

/** `demo remove`: the demo organizations and all that is theirs; the partner's own data stays as it is. */
async function demoRemove(db: Database, t: Translate): Promise<CliResult> {
  const { names, rows, remaining } = await removeDemoOrganizations(db);
  if (!names.length) return { output: t('cli.demoNothing'), exitCode: 0 };
  const { staff = 0, customers = 0, subscriptions = 0, offers = 0, organizations: _organizations, ...rest } = rows;
  const other = Object.values(rest).reduce((sum, n) => sum + n, 0);
  const lines = [t('cli.demoRemoved', { count: names.length, names: names.join(', '), staff, customers, subscriptions, offers, other })];
  if (!remaining) lines.push(t('cli.demoNoneLeft'));
  return { output: lines.join('\n'), exitCode: 0 };
}

/** `api-token create [name]`, `api-token list`, `api-token revoke <id>`: bearer tokens for the purchase intake, or a publisher's SaaS activations. */
async function apiToken(db: Database, t: Translate, org: Organization, args: string[], publisher?: string): Promise<CliResult> {
  const [verb, ...rest] = args;
  if (verb === 'create') {
    // A publisher takes no purchases: its organization's tokens are for its SaaS activations.
    const forPublisher = publisher?.trim() || (org.kind === 'publisher' ? await ownPublisherName(db, org) : undefined);
    const name = rest.join(' ').trim() || t(forPublisher ? 'cli.tokenDefaultNamePublisher' : 'cli.tokenDefaultName');
    const { id, token } = await createApiToken(db, org.id, name, forPublisher);
    return { output: t(forPublisher ? 'cli.publisherTokenCreated' : 'cli.tokenCreated', { org: org.name, name, id, token, publisher: forPublisher ?? '' }), exitCode: 0 };
  }
  if (verb === 'list' && !rest.length) {
    const tokens = await listApiTokens(db, org.id);
    if (!tokens.length) return { output: t('cli.tokensNone', { org: org.name }), exitCode: 0 };
    const rows = tokens.map((k) =>
      t('cli.tokenRow', {
        id: k.id,
        name: k.name,
        use: k.publisherName ? t('cli.tokenForActivations', { publisher: k.publisherName }) : t('cli.tokenForPurchases'),
        created: formatTimestamp(t, k.createdAt),
        used: k.lastUsedAt ? formatTimestamp(t, k.lastUsedAt) : t('cli.tokenNeverUsed'),
        state: k.revokedAt ? t('cli.tokenRevoked', { date: formatTimestamp(t, k.revokedAt) }) : '',
      }),
    );
    return { output: rows.join('\n'), exitCode: 0 };
  }
  if (verb === 'revoke' && rest.length === 1) {
    await revokeApiToken(db, org.id, rest[0]!);
    return { output: t('cli.tokenRevokedNow', { id: rest[0]! }), exitCode: 0 };
  }
  return { output: t('cli.tokenUsage'), exitCode: 2 };
}

/** `slack link-code [--org …]`: a one-time code, and the install link carrying it, that links the installing Slack workspace to the organization. */
async function slackLinkCode(db: Database, t: Translate, org: Organization, publicUrl: string): Promise<CliResult> {
  const { code, expiresAt } = await createSlackLinkCode(db, org.id);
  return { output: t('cli.slackLinkCode', { org: org.name, code, expires: expiresAt, url: `${publicUrl}/slack/install?code=${code}` }), exitCode: 0 };
}

/** `record-purchase <file.json | JSON>`: the same purchase body and rules as the HTTP intake. */
async function purchaseFromCli(db: Database, t: Translate, org: Organization, args: string[]): Promise<CliResult> {
  if (args.length !== 1) return { output: t('cli.purchaseUsage'), exitCode: 2 };
  if (org.kind === 'publisher') return { output: t('cli.publisherTakesNoPurchases', { org: org.name }), exitCode: 1 };
  const arg = args[0]!;
  let json: unknown;
  try {
    json = JSON.parse(arg.trimStart().startsWith('{') ? arg : await readFile(arg, 'utf8'));
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? t('cli.noSuchFile') : (error as Error).message;
    return { output: t('cli.purchaseUnreadable', { path: arg.slice(0, 80), reason }), exitCode: 1 };
  }
  const parsed = purchaseInputSchema.safeParse(json);
  if (!parsed.success) return { output: t('cli.purchaseInvalid', { problems: describeIssues(parsed.error).join('\n') }), exitCode: 1 };
  const recorded = await recordPurchase(db, org, parsed.data);
  return { output: t(recorded.state === 'recorded' ? 'cli.purchaseRecorded' : 'cli.purchaseRepeat', { id: parsed.data.id, customer: recorded.customer.name }), exitCode: 0 };
}

/** `saas activate <subscription> [--licenses]`, `saas licenses <subscription>`: the publisher's steps (R-M9), as the fulfillment endpoint takes them. */
async function saasActivation(db: Database, t: Translate, args: string[], withLicenses: boolean): Promise<CliResult> {
  const [verb, subscription, ...rest] = args;
  if ((verb !== 'activate' && verb !== 'licenses') || !subscription || rest.length) return { output: t('cli.saasUsage'), exitCode: 2 };
  const steps: ActivationStep[] = verb === 'licenses' ? ['licenses'] : withLicenses ? ['licenses', 'setup'] : ['setup'];
  try {
    let result;
    for (const step of steps) result = await recordActivation(db, subscription, step, new Date());
    const s = result!.subscription;
    return { output: t(s.billingStartedAt ? 'cli.saasBilling' : 'cli.saasRecorded', { subscription: s.id, status: t(`status.${s.status}`) }), exitCode: 0 };
  } catch (error) {
    if (error instanceof DomainError) return { output: t(error.code, error.params), exitCode: 1 };
    throw error;
  }
}
