import { setTimeout as sleep } from 'node:timers/promises';
import type { Database } from '../db/client.js';
import { runCli } from './adapters/cli/run.js';
import { createSlackAdapter, type SlackAdapter } from './adapters/slack/app.js';
import { slackInstallationStore } from './adapters/slack/install.js';
import { ConfigError, type Config } from './config.js';
import type { TeamsAdapter, TeamsAdapterOptions } from './adapters/teams/app.js';
import { outboxRenderer } from './commands/purchases.js';
import { slackSender } from './delivery/slack.js';
import { remindPendingRequests } from './core/request-messages.js';
import { teamsSender } from './delivery/teams.js';
import { deliveryBacklog, startDeliveryWorker, type DeliveryWorker } from './delivery/worker.js';
import { forRequest, type Logger } from './log.js';
import { listenForChanges } from './core/change-cache.js';
import { createTelemetry } from './observability.js';
import { newRequest, type RequestContext } from './request-context.js';
import { createHttpServer, type HttpServer } from './server.js';
import { purchaseIntake } from './adapters/api/purchases.js';
import { createDownloads } from './adapters/downloads.js';
import { saasFulfillment } from './adapters/api/saas.js';
import { remindClosingWindows } from './core/marketplace.js';
import { partnerCenterFromConfig, type PartnerCenterConfig } from './partner-center/connector.js';
import { PartnerCenterStopped, requestClient, stoppableClient, type PartnerCenterSettings } from './partner-center/client.js';
import { partnerCenterWebhooks, webhookSettings } from './partner-center/webhooks.js';
import { pollAllOrganizations } from './partner-center/audit.js';
import { processPartnerCenterEvents } from './partner-center/events.js';
import { repairAllOrganizations } from './partner-center/repair.js';
import { syncAllOrganizations, syncCutOff } from './partner-center/sync.js';
import { refreshPartnerCatalog } from './partner-center/catalog.js';
import { warnExpiringRefreshToken } from './partner-center/tokens.js';

const reminderCheckMs = 10 * 60 * 1000;
const listenerWaitMs = 5000;

type PartnerCenterWebhookSettings = Pick<
  Config,
  | 'PARTNER_CENTER_TENANT_ID' | 'PARTNER_CENTER_CLIENT_ID' | 'PARTNER_CENTER_CLIENT_SECRET' | 'PARTNER_CENTER_REFRESH_TOKEN'
  | 'PARTNER_CENTER_WEBHOOKS' | 'PARTNER_CENTER_WEBHOOK_CERT_HOSTS' | 'PARTNER_CENTER_WEBHOOK_ISSUERS' | 'PARTNER_CENTER_WEBHOOK_CA' | 'PARTNER_CENTER_WEBHOOK_ALLOW_HTTP'
>;

type SlackOAuthSettings = Pick<Config, 'SLACK_CLIENT_ID' | 'SLACK_CLIENT_SECRET' | 'SLACK_STATE_SECRET' | 'SLACK_TOKEN_KEY'>;

type TeamsSettings = Pick<
  Config,
  'MICROSOFT_APP_ID' | 'MICROSOFT_APP_PASSWORD' | 'MICROSOFT_APP_TENANT_ID' | 'MICROSOFT_APP_TYPE' | 'TEAMS_ALLOW_UNAUTHENTICATED' | 'TEAMS_OPENID_METADATA_URL'
>;

export interface Bot {
  server: HttpServer;
  port: number;
  slack?: SlackAdapter;
  teams?: TeamsAdapter;
  worker: DeliveryWorker;
  /** The start-up Partner Center jobs (repair, refresh-token expiry, a catalog never read or a day old), settled; failures are logged. */
  startup: Promise<void>;
  /**
   * Stops taking work and waits for what is under way: HTTP requests and the Slack listeners they
   * started, the delivery posts (their channels' leases released), and background jobs, whose
   * Partner Center reads end at once (a sync gives back its lease and resumes after the restart).
   * The database stays open; the caller bounds the wait.
   */
  stop(): Promise<void>;
}

/** Wires adapters, the HTTP server and the delivery worker onto an open, migrated database. */
export async function startBot(options: {
  db: Database;
  config: Pick<Config, 'PORT' | 'SLACK_SIGNING_SECRET' | 'SLACK_BOT_TOKEN' | 'SLACK_APP_TOKEN' | 'SLACK_API_URL'> & Partial<TeamsSettings> & Partial<Pick<Config, 'DELIVERY_TIMEOUT_SECONDS' | 'PUBLIC_URL' | 'PARTNER_CENTER_POLL_SECONDS' | 'PARTNER_CENTER_SYNC_SECONDS' | 'METRICS_TOKEN' | 'AUDIENCE_IMPORT_ALLOWED_HOSTS'>> & Partial<PartnerCenterWebhookSettings> & Partial<SlackOAuthSettings> & PartnerCenterConfig;
  /** Replaces the Partner Center connector's timing (tests: short timeouts and retry pauses). */
  partnerCenterTuning?: Partial<PartnerCenterSettings>;
  log: Logger;
  /** Token for the local CLI bridge (embedded database only). */
  cliToken?: string;
  deliveryIntervalMs?: number;
  /** Replaces fetching the Teams bot's outbound token (tests). */
  teamsBotToken?: TeamsAdapterOptions['botToken'];
}): Promise<Bot> {
  const { db, config, log } = options;
  // Identities and customer names are kept in memory only while the database's changes are heard: the
  // first requests find the listener in place. Should it take long, the bot starts reading uncached.
  await Promise.race([listenForChanges(db), sleep(listenerWaitMs, undefined, { ref: false })]);
  // Aborted by stop(): no job starts after it, and background jobs' Partner Center reads end at once.
  const stopping = new AbortController();
  const underWay = new Set<Promise<void>>();
  let worker: DeliveryWorker | undefined;
  const wake = () => worker?.wake();
  const botToken = config.SLACK_BOT_TOKEN;
  // The OAuth install (many workspaces): each workspace's token is kept, sealed, in the database.
  const slackInstallations = config.SLACK_CLIENT_ID ? slackInstallationStore(db, config.SLACK_TOKEN_KEY!, log) : undefined;
  const slackToken = botToken ?? slackInstallations?.botTokenFor;
  const downloads = createDownloads();
  // One log line and a count per command, click, API call, Partner Center or Azure call and delivery; GET /metrics.
  const telemetry = createTelemetry(db, log);
  // Partner Center connector: only with its settings; without them the permission is kept here alone, as before.
  // Its newest refresh token is kept in the database (sealed with PARTNER_CENTER_TOKEN_KEY); a refusal is announced.
  const partnerCenter = partnerCenterFromConfig(config, { ...options.partnerCenterTuning, onCall: telemetry.called }, { db, log, onAnnounce: () => wake() });
  const background = partnerCenter && stoppableClient(partnerCenter.client, stopping.signal);
  /**
   * A job that never runs twice at once (a call while it runs waits for that run), and not at all once
   * stopping; failures are logged. Each run is a request of its own (not that of a timer or webhook that
   * started it): its log lines and Partner Center calls share one request ID.
   */
  const singleRun = (job: (request: RequestContext) => Promise<unknown>, name: string): (() => Promise<void>) => {
    let running: Promise<void> | undefined;
    return () => {
      if (stopping.signal.aborted) return Promise.resolve();
      if (running) return running;
      const request = newRequest();
      const said = forRequest(log, request);
      const run = job(request)
        .then(() => undefined)
        .catch((error: unknown) => (error instanceof PartnerCenterStopped ? said.info(`${name}: stopped; it resumes after the restart`) : said.error(name, error)))
        .finally(() => {
          running = undefined;
          underWay.delete(run);
        });
      underWay.add(run);
      return (running = run);
    };
  };
  // Unset (tests), links name the port the server got.
  const publicUrl = () => config.PUBLIC_URL ?? `http://localhost:${(server.address() as { port: number }).port}`;
  // The Teams SDK is loaded only where Teams is set up: it would add about a third of a second to every start.
  const teams =
    config.MICROSOFT_APP_ID || config.TEAMS_ALLOW_UNAUTHENTICATED
      ? await (await import('./adapters/teams/app.js')).createTeamsAdapter({
          db,
          log,
          appId: config.MICROSOFT_APP_ID,
          appPassword: config.MICROSOFT_APP_PASSWORD,
          tenantId: config.MICROSOFT_APP_TENANT_ID,
          appType: config.MICROSOFT_APP_TYPE ?? 'SingleTenant',
          allowUnauthenticated: config.TEAMS_ALLOW_UNAUTHENTICATED ?? false,
          openIdMetadataUrl: config.TEAMS_OPENID_METADATA_URL ?? 'https://login.botframework.com/v1/.well-known/openidconfiguration',
          botToken: options.teamsBotToken,
          onChange: wake,
          downloads: { store: downloads, publicUrl },
          partnerCenter,
          telemetry,
          audienceImportAllowedHosts: config.AUDIENCE_IMPORT_ALLOWED_HOSTS,
        })
      : undefined;
  worker = startDeliveryWorker({
    db,
    render: outboxRenderer(db),
    senders: {
      ...(slackToken ? { slack: slackSender(slackToken, config.SLACK_API_URL, config.DELIVERY_TIMEOUT_SECONDS) } : {}),
      ...(teams ? { teams: teamsSender(db, teams) } : {}),
    },
    log,
    intervalMs: options.deliveryIntervalMs,
    postTimeoutSeconds: config.DELIVERY_TIMEOUT_SECONDS,
    onDelivered: telemetry.delivered,
  });
  const slack = slackToken
    ? createSlackAdapter({
        db,
        log,
        signingSecret: config.SLACK_SIGNING_SECRET,
        botToken,
        install: slackInstallations && {
          clientId: config.SLACK_CLIENT_ID!,
          clientSecret: config.SLACK_CLIENT_SECRET!,
          stateSecret: config.SLACK_STATE_SECRET!,
          installations: slackInstallations,
          publicUrl,
        },
        appToken: config.SLACK_APP_TOKEN,
        slackApiUrl: config.SLACK_API_URL,
        onChange: wake,
        partnerCenter,
        telemetry,
        audienceImportAllowedHosts: config.AUDIENCE_IMPORT_ALLOWED_HOSTS,
      })
    : undefined;
  const socketMode = Boolean(slack && config.SLACK_APP_TOKEN);
  // Partner Center webhooks: on with the connector's credentials, or with PARTNER_CENTER_WEBHOOKS=true; PARTNER_CENTER_WEBHOOKS=false turns them off.
  let onPartnerCenterEvent = () => {};
  const partnerCenterConnected = Boolean(
    config.PARTNER_CENTER_TENANT_ID && config.PARTNER_CENTER_CLIENT_ID && config.PARTNER_CENTER_CLIENT_SECRET && config.PARTNER_CENTER_REFRESH_TOKEN,
  );
  const partnerCenterWebhook =
    (config.PARTNER_CENTER_WEBHOOKS ?? partnerCenterConnected)
      ? partnerCenterWebhooks(db, webhookSettings(config), { log, onEvent: () => onPartnerCenterEvent() })
      : undefined;
  const server = createHttpServer({
    log,
    slack: slack?.requestListener,
    slackInstall: slack?.installListener,
    socketMode,
    teams: teams?.handle,
    purchases: purchaseIntake(db, { onRecorded: wake, log }),
    saas: saasFulfillment(db, wake),
    partnerCenterWebhook,
    deliveries: () => deliveryBacklog(db),
    downloads: teams ? (token, acceptLanguage) => downloads.serve(token, acceptLanguage) : undefined,
    // A sync or poll run from the terminal is cut short by a stop like the background ones.
    cli: options.cliToken
      ? { token: options.cliToken, run: (argv, request) => runCli(db, argv, { partnerCenter: partnerCenter && { ...partnerCenter, client: background! }, config, log, telemetry, request }) }
      : undefined,
    telemetry,
    metricsToken: config.METRICS_TOKEN,
  });
  await new Promise<void>((done, fail) => {
    const refused = (error: NodeJS.ErrnoException) =>
      fail(error.code === 'EADDRINUSE' ? new ConfigError(`Port ${config.PORT} is in use by another process: stop it, or set PORT to a free port.`) : error);
    server.once('error', refused).listen(config.PORT, () => (server.off('error', refused), done()));
  });
  // Request reminders are due at most once a day, window reminders hours ahead; looking every ten minutes is plenty.
  const remind = singleRun(
    () => Promise.all([remindPendingRequests(db, new Date()), remindClosingWindows(db, new Date())]).then(([requests, windows]) => (requests || windows) && wake()),
    'reminders',
  );
  const reminders = setInterval(() => void remind(), reminderCheckMs).unref();
  // With the connector: customer purchases from the audit records (R-P8), the periodic sync, and events fetched from the API.
  // A Partner Center change cut off by a crash is settled once its call can no longer be under way: at start-up, then when the next is due.
  let repairTimer: NodeJS.Timeout | undefined;
  const repairWhenDue = (dueAt: Date | undefined) => {
    clearTimeout(repairTimer);
    if (dueAt) repairTimer = setTimeout(() => void jobs?.repair(), Math.max(0, dueAt.getTime() - Date.now())).unref();
  };
  // A job's Partner Center calls and log lines carry its run's request ID.
  const client = (request: RequestContext) => requestClient(background!, request);
  const said = (request: RequestContext) => forRequest(log, request);
  const jobs =
    partnerCenter && background
      ? {
          repair: singleRun(
            (r) => repairAllOrganizations(db, client(r), said(r), partnerCenter.azure.forRequest(r)).then((done) => (repairWhenDue(done.nextDueAt), done.done > 0 && wake())),
            'Partner Center repair',
          ),
          purchases: singleRun((r) => pollAllOrganizations(db, client(r), new Date(), said(r)).then((done) => done.recorded > 0 && wake()), 'Partner Center audit records'),
          // A refresh token 14 days from lapsing (no token request succeeded for 76 days) is announced once.
          tokenExpiry: singleRun(() => warnExpiringRefreshToken(db, background.tenantId).then((warned) => warned && wake()), 'Partner Center refresh token'),
          sync: singleRun((r) => syncAllOrganizations(db, client(r), said(r)).then((done) => done.changed > 0 && wake()), 'Partner Center sync'),
          catalog: singleRun((r) => refreshPartnerCatalog(db, client(r), partnerCenter.pricingUrl, said(r)), 'Partner Center catalog'),
          events: singleRun((r) => processPartnerCenterEvents(db, client(r), said(r)).then((done) => done.processed > 0 && wake()), 'Partner Center events'),
        }
      : undefined;
  onPartnerCenterEvent = () => void jobs?.events();
  const timers = jobs
    ? [
        setInterval(() => void jobs.repair().then(jobs.purchases).then(jobs.events).then(jobs.tokenExpiry), (config.PARTNER_CENTER_POLL_SECONDS ?? 300) * 1000).unref(),
        // With each sync, the marketplace catalog once it is a day old.
        setInterval(() => void jobs.sync().then(jobs.catalog), (config.PARTNER_CENTER_SYNC_SECONDS ?? 3600) * 1000).unref(),
      ]
    : [];
  // The catalog is read at start-up too when it is stale: the first periodic sync may be PARTNER_CENTER_SYNC_SECONDS away.
  // A sync cut off by a stop (or a crash) resumes at start-up rather than at the next interval.
  const startup = jobs
    ? jobs
        .repair()
        .then(jobs.tokenExpiry)
        .then(jobs.catalog)
        .then(() => syncCutOff(db))
        .then((cutOff) => (cutOff ? jobs.sync() : undefined), (error) => log.error('Partner Center sync', error))
    : Promise.resolve();
  if (socketMode) await slack!.app.start();
  return {
    server,
    port: (server.address() as { port: number }).port,
    slack,
    teams,
    worker,
    startup,
    async stop() {
      stopping.abort();
      clearInterval(reminders);
      for (const timer of timers) clearInterval(timer);
      clearTimeout(repairTimer);
      // Slack listeners run on after their ack; over HTTP, the requests that start them come first.
      const slackStopped = socketMode ? slack!.stop() : server.drain().then(() => slack?.stop());
      await Promise.all([server.drain(), slackStopped, worker!.stop(), ...underWay]);
      await downloads.clear();
    },
  };
}
