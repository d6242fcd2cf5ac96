import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { App, HTTPReceiver, SocketModeReceiver, type AllMiddlewareArgs, type Context, type RespondFn, type SlackCommandMiddlewareArgs } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import type { Database } from '../../../db/client.js';
import { removeSlackInstallation } from '../../core/slack-workspaces.js';
import type { CommandEnv } from '../../commands/context.js';
import type { PartnerCenterConnector } from '../../partner-center/connector.js';
import { commandOnlyReads, runAction, runCommand } from '../../commands/dispatch.js';
import { formChoices } from '../../commands/forms.js';
import { cachedChatIdentity, identifyChatUser } from '../../core/access.js';
import { readerTranslator, slackUserLocale } from '../../core/languages.js';
import { translator, type Translate } from '../../i18n/index.js';
import { forRequest, type Logger } from '../../log.js';
import { newRequest, type RequestContext } from '../../request-context.js';
import { truncate, type Form, type View } from '../../views/model.js';
import { discardFiles } from '../downloads.js';
import { renderSlack, renderSlackForm, renderSlackHome, renderSlackModal, type SlackMessage } from '../../views/slack.js';
import { withOutcome } from '../../commands/home.js';
import { slackBotScopes, slackInstallListener, type SlackInstallations } from './install.js';
import { postToResponseUrl } from './response-url.js';
import { boltLogger } from './bolt-logger.js';
import { uploadFiles, withUploadNote } from './files.js';
import { verifiedListener, type SlackListener } from './verify.js';

/** What a modal carries from the click that opened it to its submission. */
interface ModalMetadata {
  action: string;
  value: string;
  responseUrl?: string;
  channelId?: string;
  /** The clicked message is seen by others, so only a committed change may replace it. */
  shared: boolean;
  /** Clicked in the clicker's Home tab, which shows the outcome when it is published again. */
  home?: true;
}

/** What a form's modal carries to its submission: the form's value, and where the typed command's answer goes. */
interface FormMetadata {
  value: string;
  responseUrl?: string;
  channelId?: string;
  /** Opened from the Home tab, which shows the answer when it is published again. */
  home?: true;
}

/** A submitted modal's values by block ID: a select's chosen value, a multi-select's separated by commas, or the text typed. */
type SubmittedValues = Record<string, Record<string, { value?: string | null; selected_option?: { value: string } | null; selected_options?: { value: string }[] }>>;
function formValues(values: SubmittedValues): Record<string, string> {
  return Object.fromEntries(
    Object.entries(values).map(([blockId, actions]) => {
      const a = actions[blockId] ?? {};
      return [blockId, a.selected_options?.map((o) => o.value).join(',') ?? a.selected_option?.value ?? a.value ?? ''];
    }),
  );
}

/** A form's errors as lines: what is told when the form can no longer show them. */
const formErrorLines = (form: Form) => [form.error, ...form.fields.map((f) => f.error && `${f.label}: ${f.error}`)].filter((l): l is string => Boolean(l));

export interface SlackAdapterOptions {
  db: Database;
  log: Logger;
  signingSecret?: string;
  /** One workspace's bot token; without it, `install` (the OAuth install for many workspaces). */
  botToken?: string;
  appToken?: string;
  install?: { clientId: string; clientSecret: string; stateSecret: string; installations: SlackInstallations; publicUrl: () => string };
  slackApiUrl: string;
  /** Called after a button's change committed, so its announcement goes out at once. */
  onChange?: () => void;
  partnerCenter?: PartnerCenterConnector;
  /** Logs and counts each command and click. */
  telemetry?: CommandEnv['telemetry'];
  audienceImportAllowedHosts?: readonly string[];
}

export interface SlackAdapter {
  app: App;
  /** Serves POST /slack/events; undefined in Socket Mode. */
  requestListener?: SlackListener;
  /** Serves GET /slack/install and GET /slack/oauth_redirect with the OAuth install. */
  installListener?: RequestListener;
  /**
   * Waits for the listeners under way (they run on after their ack). In Socket Mode it first stops
   * taking events (one not acknowledged is Slack's to send again) and disconnects at the end.
   */
  stop(): Promise<void>;
}

/**
 * A click's answer through response_url: it replaces the clicked message when only the clicker sees
 * it, or when the change committed; anything else (a refusal, a repeat click, an error) goes to the
 * clicker alone as an ephemeral message and the shared card keeps its buttons.
 */
function clickAnswer(view: View, shared: boolean, t: Translate) {
  const message = renderSlack(view, t);
  return !shared || view.committed ? { replace_original: true, ...message } : { response_type: 'ephemeral' as const, replace_original: false, ...message };
}

/** Slack asks for an answer within 3 s; a command still working by then is answered later through response_url. */
const ackDeadlineMs = 2500;

/**
 * `work`'s result, or undefined once the ack deadline passed without it. Its timer is cleared as soon as the
 * work is done (a sleep raced against it stayed behind every command for the whole deadline), and it runs on
 * the event loop's clock, as Bolt's own 3 s timer does, so it always ends first even when the loop was held up.
 */
function withinAckDeadline<T>(work: Promise<T>): Promise<T | undefined> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ackDeadlineMs, undefined).unref();
    work.then(
      (result) => (clearTimeout(timer), resolve(result)),
      (error: unknown) => (clearTimeout(timer), reject(error)),
    );
  });
}

export function createSlackAdapter(options: SlackAdapterOptions): SlackAdapter {
  const { db, log } = options;
  const logger = boltLogger(log);
  // Each client gets its own options object: the Socket Mode client writes its retry policy into the one it is given.
  const clientOptions = () => ({ slackApiUrl: options.slackApiUrl });
  const { install } = options;
  // Each request's response, which a listener finds in its context (httpResponse) to send a reply serialized before, and its request ID.
  const handed = new WeakMap<IncomingMessage, { response: ServerResponse; request: RequestContext }>();
  const receiver = options.appToken
    ? new SocketModeReceiver({ appToken: options.appToken, logger, installerOptions: { clientOptions: clientOptions() } })
    : new HTTPReceiver({
        signingSecret: options.signingSecret!,
        // Checked before Bolt sees the request (verifiedListener below).
        signatureVerification: false,
        endpoints: '/slack/events',
        logger,
        customPropertiesExtractor: (req) => {
          const given = handed.get(req);
          return { httpResponse: given?.response, request: given?.request };
        },
        // With the OAuth install, Bolt finds each request's bot token in the installation store.
        ...(install && {
          clientId: install.clientId,
          clientSecret: install.clientSecret,
          stateSecret: install.stateSecret,
          scopes: slackBotScopes,
          installationStore: install.installations,
          installerOptions: {
            directInstall: true,
            clientOptions: clientOptions(),
            // Slack's authorize page lives beside its Web API (https://slack.com/oauth/v2/authorize), a stand-in's too.
            authorizationUrl: new URL('../oauth/v2/authorize', options.slackApiUrl).toString(),
          },
        }),
      });
  // No conversation store: nothing reads context.conversation, and its lookup ran on every event.
  const app = new App({ ...(options.botToken && { token: options.botToken }), receiver, clientOptions: clientOptions(), logger, convoStore: false });
  const installer = receiver instanceof HTTPReceiver ? receiver.installer : undefined;

  // Listeners under way, which stop() waits for.
  let stopping = false;
  const running = new Set<Promise<void>>();
  app.use(async (args) => {
    if (stopping && options.appToken) return;
    // `/csp` is answered here: passed on, it would go through every listener's matching (Bolt tries them all).
    const run = 'command' in args && args.command.command === '/csp' ? answerCommand(args as SlackCommandMiddlewareArgs & AllMiddlewareArgs) : args.next();
    running.add(run);
    try {
      await run;
    } finally {
      running.delete(run);
    }
  });

  /**
   * Who acts, and where. `reading`: what only reads may use the identity kept in memory; anything that
   * may change something (a click, a submitted form, a command that writes) reads it from the database now,
   * or in the statement that acts (checksClickerItself).
   */
  async function envFor(client: WebClient, context: Context, teamId: string | undefined, userId: string, channelId: string | undefined, reading = false): Promise<CommandEnv> {
    // Given by the HTTP server; an event over Socket Mode is a request of its own.
    const request = (context.request ??= newRequest()) as RequestContext;
    const identify = reading ? cachedChatIdentity : identifyChatUser;
    const { org, actor } = teamId ? await identify(db, 'slack', teamId, userId) : { org: undefined, actor: { kind: 'unknown' as const } };
    // The person's Slack language matters only when they chose none themselves; asked with their workspace's token.
    const usersLocale = async (user: string) => (await client.users.info({ user, include_locale: true })).user?.locale ?? null;
    const platformLocale = () => slackUserLocale(db, userId, usersLocale);
    const locale = actor.kind !== 'unknown' && !actor.language ? await platformLocale() : null;
    return {
      db,
      org,
      actor,
      conversation: { platform: 'slack', channelId: channelId ?? null, person: { id: userId } },
      t: readerTranslator(org, actor, locale),
      platformLocale,
      prefix: '/csp ',
      workspaceId: teamId,
      now: () => new Date(),
      request,
      logError: (errorId, error) => forRequest(log, request).error(`error ${errorId}`, error),
      telemetry: options.telemetry,
      ...(options.partnerCenter ? { partnerCenter: options.partnerCenter.forRequest(request) } : {}),
      audienceImportAllowedHosts: options.audienceImportAllowedHosts,
    };
  }

  /** What a listener logs, with its request's ID (known once envFor ran). */
  const requestLog = (context: Context) => forRequest(log, context.request as RequestContext | undefined);

  /**
   * A Turn on without the connector reads the clicker's role and Slack user again in the statement that
   * acts (core/turn-on.ts), so it may start from the identity kept in memory.
   */
  const checksClickerItself = (id: string) => !options.partnerCenter && (id === 'allow-reservations' || id === 'allow-savings-plans');

  /**
   * Publishes the person's Home tab, built anew (views.publish); after a click in it, with what the
   * click did, or why it was refused, shown first: the tab is theirs alone.
   */
  async function publishHome(client: WebClient, env: CommandEnv, userId: string, outcome?: View) {
    const home = await runCommand(env, 'home');
    await client.views.publish({ user_id: userId, view: renderSlackHome(withOutcome(home, outcome), env.t) });
  }

  app.event('app_home_opened', async ({ event, body, client, context }) => {
    if (event.tab !== 'home') return;
    await publishHome(client, await envFor(client, context, body.team_id, event.user, undefined, true), event.user);
  });

  /** Replies shared by every reader like them (frozen messages, help's) as the JSON Bolt would send, and its length: made once. */
  const sharedReplies = new WeakMap<SlackMessage, { json: string; bytes: number }>();
  function sharedReply(message: SlackMessage) {
    let reply = sharedReplies.get(message);
    if (!reply) {
      const json = JSON.stringify({ response_type: 'ephemeral', ...message });
      sharedReplies.set(message, (reply = { json, bytes: Buffer.byteLength(json) }));
    }
    return reply;
  }

  async function answerCommand({ command, ack, respond, client, context }: SlackCommandMiddlewareArgs & AllMiddlewareArgs) {
    let t = translator();
    const work = envFor(client, context, command.team_id, command.user_id, command.channel_id, commandOnlyReads(command.text)).then((env) => ((t = env.t), runCommand(env, command.text)));
    const early = await withinAckDeadline(work);
    if (!early) await ack({ response_type: 'ephemeral', text: t('common.working') });
    const view = early ?? (await work);
    // A form opens as a modal; the reply says what was missing, as the typed command's answer would.
    const { form } = view;
    const shown: View = form ? { ...view, form: undefined, lines: [...(view.lines ?? []), t('form.opened')] } : view;
    const message = renderSlack(withUploadNote(shown, t), t);
    const response = context.httpResponse as ServerResponse | undefined;
    if (early && response && Object.isFrozen(message)) {
      // Bolt sends a string as it is, without the content type it gives the JSON it makes of an object; with
      // its length known, the answer goes out in one piece rather than chunked.
      const { json, bytes } = sharedReply(message);
      response.setHeader('content-type', 'application/json');
      response.setHeader('content-length', bytes);
      await ack(json);
    } else if (early) await ack({ response_type: 'ephemeral', ...message });
    else await respond({ response_type: 'ephemeral', ...message });
    if (form) await openForm(client, command.trigger_id, view, { value: form.value, responseUrl: command.response_url, channelId: command.channel_id }, respond, t, requestLog(context));
    if (view.files?.length) await uploadFiles(client, command.channel_id, view, respond, t, requestLog(context));
  }

  /** Opens a form's modal; one that cannot open (its trigger expired) is told, the typed syntax being in the reply. */
  async function openForm(client: WebClient, triggerId: string, view: View, metadata: FormMetadata, respond: RespondFn, t: Translate, log: Logger) {
    try {
      await client.views.open({ trigger_id: triggerId, view: renderSlackForm(view, JSON.stringify(metadata), t) });
    } catch (error) {
      log.warn('slack: could not open a form', error);
      const reason = (error as { data?: { error?: string } }).data?.error ?? (error as Error).message;
      await respond({ response_type: 'ephemeral', ...renderSlack({ tone: 'error', lines: [t('form.notOpened', { reason })] }, t) });
    }
  }

  /**
   * A submitted form: what is wrong shows in the modal (next to its field, or above them all), else the modal
   * closes and the command's answer goes where the typed command's would, to the person alone.
   */
  app.view('csp:form', async ({ ack, body, view, client, context }) => {
    const metadata = JSON.parse(view.private_metadata) as FormMetadata;
    const env = await envFor(client, context, body.team?.id, body.user.id, metadata.channelId);
    const work = runAction(env, 'form', metadata.value, formValues(view.state.values as SubmittedValues));
    const early = await withinAckDeadline(work);
    const refused = early?.form;
    if (refused) {
      const onFields = !refused.error && refused.fields.some((f) => f.error);
      await ack(
        onFields
          ? { response_action: 'errors', errors: Object.fromEntries(refused.fields.flatMap((f) => (f.error ? [[f.id, truncate(f.error, 2000)]] : []))) }
          : { response_action: 'update', view: renderSlackForm(early, view.private_metadata, env.t) },
      );
      return;
    }
    await ack();
    const result = early ?? (await work);
    const answer: View = result.form ? { tone: 'error', lines: formErrorLines(result.form) } : result;
    if (metadata.home) await publishHome(client, env, body.user.id, answer);
    else if (metadata.responseUrl) await postToResponseUrl(metadata.responseUrl, { response_type: 'ephemeral', ...renderSlack(answer, env.t) });
    options.onChange?.();
  });

  // The choices of a form's select with more than Slack lists at once, as the user types.
  app.options<'block_suggestion'>({ type: 'block_suggestion' }, async ({ ack, body, client, context }) => {
    const metadata = JSON.parse(body.view?.private_metadata || '{}') as Partial<FormMetadata>;
    const env = await envFor(client, context, body.team?.id, body.user.id, metadata.channelId, true);
    const choices = await formChoices(env, metadata.value ?? '', body.action_id, body.value).catch((error: unknown) => (requestLog(context).warn('slack: form choices', error), []));
    await ack({ options: choices.map((o) => ({ text: { type: 'plain_text', text: truncate(o.label, 75), emoji: false }, value: o.value })) });
  });

  app.action({ type: 'block_actions', action_id: /^csp:/ }, async ({ ack, body, action, respond, client, context }) => {
    if (action.type !== 'button') return ack();
    const [, id = ''] = action.action_id.split(':');
    const work = envFor(client, context, body.team?.id, body.user.id, body.channel?.id, checksClickerItself(id)).then((env) => runAction(env, id, action.value ?? '').then((view) => ({ env, view })));
    // Acked once the click's work is done (or at the deadline): a burst of clicks then waits at Slack's
    // side instead of piling up in memory here, and the answer still follows through response_url.
    await withinAckDeadline(work.catch(() => undefined));
    await ack();
    const { env, view } = await work;
    const home = body.view?.type === 'home';
    // Only an ephemeral message (a command's answer) is the clicker's own; a message in a channel is everyone's.
    const shared = !home && (body.container as { is_ephemeral?: boolean } | undefined)?.is_ephemeral !== true;
    if (view.input && view.actions?.length) {
      // Typed input (a rejection's reason) is asked in a modal; its outcome answers this click.
      const submit = view.actions[0]!;
      const metadata: ModalMetadata = { action: submit.id, value: submit.value, responseUrl: body.response_url, channelId: body.channel?.id, shared, ...(home ? { home } : {}) };
      await client.views.open({ trigger_id: body.trigger_id, view: renderSlackModal(view, JSON.stringify(metadata), env.t) });
      return;
    }
    // A button that runs a command with its arguments left out opens that command's form.
    if (view.form) {
      await openForm(client, body.trigger_id, view, { value: view.form.value, responseUrl: body.response_url, channelId: body.channel?.id, ...(home ? { home } : {}) }, respond, env.t, requestLog(context));
      return;
    }
    // A click in the Home tab has no message to answer: the tab is published again, showing the outcome.
    if (home) await publishHome(client, env, body.user.id, view);
    else await postToResponseUrl(body.response_url, clickAnswer(withUploadNote(view, env.t), shared, env.t));
    // A choice (which customer) can run a command that makes files: they go to the channel it was clicked in.
    if (view.files?.length) await (home ? discardFiles(view.files) : uploadFiles(client, body.channel?.id, view, respond, env.t, requestLog(context)));
    options.onChange?.();
  });

  app.view('csp:input', async ({ ack, body, view, client, context }) => {
    await ack();
    const metadata = JSON.parse(view.private_metadata) as ModalMetadata;
    const inputs = Object.fromEntries(Object.entries(view.state.values).map(([blockId, values]) => [blockId, values[blockId]?.value ?? '']));
    const env = await envFor(client, context, body.team?.id, body.user.id, metadata.channelId);
    const result = await runAction(env, metadata.action, metadata.value, inputs);
    if (metadata.home) await publishHome(client, env, body.user.id, result);
    else if (metadata.responseUrl) await postToResponseUrl(metadata.responseUrl, clickAnswer(result, metadata.shared !== false, env.t));
    options.onChange?.();
  });

  // Uninstalled, or the bot token revoked: the workspace's tokens are useless from now on, so they go.
  const forget = async (teamId: string, what: string) => {
    const removed = await removeSlackInstallation(db, teamId);
    log.info(`Slack: workspace ${teamId}${removed?.teamName ? ` (${removed.teamName})` : ''} ${what}; ${removed ? 'its tokens were deleted' : 'no tokens were kept for it'}`);
  };
  app.event('app_uninstalled', async ({ body }) => forget(body.team_id, 'uninstalled csp-ops'));
  app.event('tokens_revoked', async ({ body, event }) => {
    if (event.tokens.bot?.length) await forget(body.team_id, 'revoked the bot token');
  });

  app.error(async (error) => log.error('slack', error));

  return {
    app,
    requestListener: receiver instanceof HTTPReceiver ? verifiedListener(receiver, options.signingSecret!, logger, handed) : undefined,
    installListener: install && installer ? slackInstallListener({ db, log, installer, publicUrl: install.publicUrl }) : undefined,
    async stop() {
      stopping = true;
      while (running.size) await Promise.allSettled([...running]);
      if (options.appToken) await app.stop();
    },
  };
}
