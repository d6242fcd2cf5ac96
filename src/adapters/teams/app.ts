import { Client, PUBLIC } from '@microsoft/teams.api';
import { App, toThreadedConversationId, type HttpRouteHandler, type IHttpServerRequest, type IHttpServerResponse } from '@microsoft/teams.apps';
import type { IAdaptiveCard } from '@microsoft/teams.cards';
import type { ILogger } from '@microsoft/teams.common';
import type { Database } from '../../../db/client.js';
import type { CommandEnv } from '../../commands/context.js';
import type { PartnerCenterConnector } from '../../partner-center/connector.js';
import { runAction, runCommand } from '../../commands/dispatch.js';
import { identifyChatUser } from '../../core/access.js';
import { randomUUID } from 'node:crypto';
import type { ChatPerson } from '../../core/context.js';
import { keepPrivateView, privateView, rememberTeamsConversation, replacePrivateView, type TeamsConversation } from '../../core/conversations.js';
import { readerTranslator } from '../../core/languages.js';
import { formatTimestamp, type Translate } from '../../i18n/index.js';
import { forRequest, type Logger } from '../../log.js';
import { newRequest, type RequestContext } from '../../request-context.js';
import { renderText, type View } from '../../views/model.js';
import { discardFiles, type Downloads } from '../downloads.js';
import { actionFromInvoke, renderAdaptiveCard, type AdaptiveCard, type ExecuteAction } from '../../views/teams.js';
import { isHomeCommand, withOutcome } from '../../commands/home.js';

export interface TeamsAdapterOptions {
  db: Database;
  log: Logger;
  /** The bot's Microsoft app ID; without it every request is refused unless `allowUnauthenticated`. */
  appId?: string;
  appPassword?: string;
  tenantId?: string;
  appType: 'SingleTenant' | 'MultiTenant' | 'UserAssignedMSI';
  /** Local development and tests only: accept activities without a Bot Framework token. */
  allowUnauthenticated: boolean;
  openIdMetadataUrl: string;
  /** Replaces fetching the bot's own outbound token (tests). */
  botToken?: (scope: string | string[], tenantId?: string) => Promise<string>;
  /** Called after a button's change committed, so its announcement goes out at once. */
  onChange?: () => void;
  /** Keeps a reply's files and signs links to them; `publicUrl` is where users reach this bot (PUBLIC_URL). */
  downloads?: { store: Downloads; publicUrl: () => string };
  partnerCenter?: PartnerCenterConnector;
  /** Logs and counts each command and click. */
  telemetry?: CommandEnv['telemetry'];
  audienceImportAllowedHosts?: readonly string[];
}

export interface TeamsAdapter {
  /** Serves POST /api/messages: validates the token, then routes the activity, as the request `context` (its ID). */
  handle(request: IHttpServerRequest, context: RequestContext): Promise<IHttpServerResponse>;
  /** Posts a card into a conversation learned from an authenticated activity; with `replyTo`, as a reply to that activity of the bot's. */
  post(conversation: TeamsConversation, view: View, t: Translate, replyTo?: string): Promise<{ id?: string }>;
  /** Replaces a card the bot posted, for everyone in the conversation. */
  update(conversation: TeamsConversation, activityId: string, view: View, t: Translate): Promise<void>;
  /** Opens (or finds) the bot's personal chat with a user, served at `serviceUrl`; resolves with its conversation ID. */
  openPersonalChat(serviceUrl: string, person: ChatPerson, tenantId: string): Promise<string>;
}

const cardType = 'application/vnd.microsoft.card.adaptive' as const;
const cardAttachment = (view: View, t: Translate) => ({ contentType: cardType, content: renderAdaptiveCard(view, t) });

/** The refresh verb of a user-specific view: the asker's Teams client fetches their card with it. */
const privateViewVerb = 'private-view';

/** The card with `data` added to every button's, below the card and in its sections. */
function withButtonData(card: AdaptiveCard, data: Record<string, string>): AdaptiveCard {
  const mark = (a: ExecuteAction) => ({ ...a, data: { ...a.data, ...data } });
  return {
    ...card,
    body: card.body.map((block) => (block.type === 'ActionSet' ? { ...block, actions: block.actions.map(mark) } : block)),
    ...(card.actions ? { actions: card.actions.map(mark) } : {}),
  };
}

/** Teams asks for the card anew with this action when the user looks at it; others see its title on a button where it does not refresh by itself (conversations of over 60 people). */
const refreshFor = (userId: string, verb: string, value: string, title: string) => ({
  refresh: { action: { type: 'Action.Execute' as const, title, verb, data: { value } }, userIds: [userId] },
});

/**
 * A card shown to one person in a conversation others share (Universal Actions user-specific view):
 * Teams refreshes it for the listed user, and its buttons name the view so a click keeps it theirs.
 */
function userSpecificCard(card: AdaptiveCard, viewId: string, userId: string, title: string) {
  return { ...withButtonData(card, { view: viewId }), ...refreshFor(userId, privateViewVerb, viewId, title) };
}

/** The refresh verb of the home card: Teams fetches the person's home anew each time they open the chat. */
const homeVerb = 'home';

/**
 * A card of the home in a person's chat with the bot: its buttons say they were clicked there, so the
 * answer to a click is the home card again, showing what the click did. With `refresh`, it is built
 * anew for that person whenever they look at it (Universal Actions automatic refresh).
 */
function homeCard(card: AdaptiveCard, refresh?: { userId: string; title: string }) {
  return { ...withButtonData(card, { home: '1' }), ...(refresh ? refreshFor(refresh.userId, homeVerb, '', refresh.title) : {}) };
}

/**
 * Universal Actions answers: a card replaces the clicker's copy only; a message is shown to the
 * clicker beside the card, which stays as it was (a refusal leaves the buttons where they are).
 */
const cardResponse = (card: unknown) => ({ statusCode: 200 as const, type: cardType, value: card as IAdaptiveCard });
const messageResponse = (view: View) => ({ statusCode: 200 as const, type: 'application/vnd.microsoft.activity.message' as const, value: renderText({ title: view.title, lines: view.lines }) });
/** A view with nothing to act on is a sentence: told beside a shared card rather than in place of it. */
const isSentence = (view: View) => !view.actions?.length && !view.input && !view.files?.length;

/** `@csp-ops allow-reservations x`, `/csp allow-reservations x` and `csp allow-reservations x` are the same command. */
export function commandTextFromMessage(text: string): string {
  return text.trim().replace(/^\/?csp(\s+|$)/i, '');
}

function sdkLogger(log: Logger): ILogger {
  const logger: ILogger = {
    debug: (...m) => log.debug(m.map(String).join(' ')),
    trace: (...m) => log.debug(m.map(String).join(' ')),
    info: (...m) => log.info(m.map(String).join(' ')),
    warn: (...m) => log.warn(m.map(String).join(' ')),
    error: (...m) => log.error(m.map(String).join(' ')),
    log: (level, ...m) => (level === 'error' ? log.error : level === 'warn' ? log.warn : log.debug)(m.map(String).join(' ')),
    child: () => logger,
  };
  return logger;
}

/**
 * The Teams adapter on the Teams SDK. Its HTTP layer is our own server: the SDK
 * registers its /api/messages handler with us, and validates each request's
 * Bot Framework token (issuer, audience, signing keys, serviceUrl) before routing.
 */
export async function createTeamsAdapter(options: TeamsAdapterOptions): Promise<TeamsAdapter> {
  const { db, log } = options;
  let route: HttpRouteHandler | undefined;
  // Every option is explicit: the SDK otherwise reads CLIENT_ID, TENANT_ID, … from the environment.
  const app = new App({
    clientId: options.appId ?? '',
    // A token override (tests) replaces the secret: the SDK uses the secret when both are set.
    clientSecret: options.appType === 'UserAssignedMSI' || options.botToken ? '' : (options.appPassword ?? ''),
    tenantId: options.appType === 'MultiTenant' ? '' : (options.tenantId ?? ''),
    managedIdentityClientId: options.appType === 'UserAssignedMSI' ? options.appId : undefined,
    ...(options.botToken ? { token: options.botToken } : {}),
    cloud: { ...PUBLIC, openIdMetadataUrl: options.openIdMetadataUrl },
    dangerouslyAllowUnauthenticatedRequests: !options.appId && options.allowUnauthenticated,
    httpServerAdapter: { registerRoute: (_method, _path, handler) => void (route = handler) },
    activity: { mentions: { stripText: true } },
    logger: sdkLogger(log),
  });

  // The request each activity came in, by the activity's ID (the SDK hands handlers a copy of the body), while it is handled.
  const requests = new Map<string, RequestContext>();

  async function envFor(activity: {
    id?: string;
    conversation: { id: string; tenantId?: string; conversationType?: unknown };
    from: { id: string; aadObjectId?: string };
    channelData?: { tenant?: { id?: string } };
    /** The user's Teams client language, sent with each activity. */
    locale?: string;
  }): Promise<CommandEnv> {
    const tenantId = activity.conversation.tenantId ?? activity.channelData?.tenant?.id;
    const userId = activity.from.aadObjectId;
    const { org, actor } = tenantId && userId ? await identifyChatUser(db, 'teams', tenantId, userId) : { org: undefined, actor: { kind: 'unknown' as const } };
    const request = (activity.id && requests.get(activity.id)) || newRequest();
    return {
      db,
      org,
      actor,
      conversation: { platform: 'teams', channelId: activity.conversation.id, person: { id: activity.from.id, aadObjectId: activity.from.aadObjectId } },
      t: readerTranslator(org, actor, activity.locale),
      platformLocale: async () => activity.locale ?? null,
      // In a personal chat commands are typed as they are; elsewhere the bot is @mentioned.
      prefix: activity.conversation.conversationType === 'personal' ? '' : '@csp-ops ',
      workspaceId: tenantId,
      now: () => new Date(),
      request,
      logError: (errorId, error) => forRequest(log, request).error(`error ${errorId}`, error),
      telemetry: options.telemetry,
      ...(options.partnerCenter ? { partnerCenter: options.partnerCenter.forRequest(request) } : {}),
      audienceImportAllowedHosts: options.audienceImportAllowedHosts,
    };
  }

  /** Only activities that passed token validation reach here, so their serviceUrl can be trusted for later posts. */
  async function remember(env: CommandEnv, activity: { serviceUrl?: string; conversation: { id: string; conversationType?: unknown } }) {
    if (!env.org || !activity.serviceUrl) return;
    await rememberTeamsConversation(db, env.org.id, {
      conversationId: activity.conversation.id,
      serviceUrl: activity.serviceUrl,
      conversationType: activity.conversation.conversationType ? String(activity.conversation.conversationType) : undefined,
    });
  }

  /** A card cannot carry files: each becomes a download link served by this bot, signed and expiring. */
  function withDownloadLinks(view: View, t: Translate): View {
    const { files, ...rest } = view;
    if (!files?.length) return rest;
    if (!options.downloads) {
      void discardFiles(files);
      return rest;
    }
    const { store, publicUrl } = options.downloads;
    const links = files.map((file) => {
      const { path, expiresAt } = store.offer(file);
      return t('files.teamsDownload', { name: file.name, url: `${publicUrl()}${path}`, expires: formatTimestamp(t, expiresAt) });
    });
    return { ...rest, lines: [...(rest.lines ?? []), ...links] };
  }

  /** The person's home card, built anew; after a click in it, with what the click did shown first. */
  async function home(env: CommandEnv, userId: string, outcome?: View) {
    // A click that asks for typed input (a rejection's reason) gets that form, which does not refresh itself away.
    if (outcome?.input) return homeCard(renderAdaptiveCard(outcome, env.t));
    return homeCard(renderAdaptiveCard(withOutcome(await runCommand(env, 'home'), outcome), env.t), { userId, title: env.t('teams.refresh') });
  }

  app.on('message', async ({ activity, send }) => {
    const env = await envFor(activity);
    await remember(env, activity);
    const text = commandTextFromMessage(activity.text ?? '');
    const { t } = env;
    const personal = activity.conversation.conversationType === 'personal';
    if (personal && isHomeCommand(text)) {
      await send({ type: 'message', replyToId: activity.id, attachments: [{ contentType: cardType, content: await home(env, activity.from.id) }] });
      return;
    }
    const view = withDownloadLinks(await runCommand(env, text), t);
    const askerAad = activity.from.aadObjectId;
    if (personal || !env.org || !askerAad) {
      await send({ type: 'message', replyToId: activity.id, attachments: [cardAttachment(view, t)] });
      return;
    }
    // In a channel or group chat the answer is the asker's alone: the others see who asked what.
    const id = randomUUID();
    const asker = env.actor.kind === 'unknown' ? (activity.from.name ?? '') : env.actor.name;
    const card = userSpecificCard(renderAdaptiveCard(view, t), id, activity.from.id, t('teams.refresh'));
    const sharedCard = userSpecificCard(renderAdaptiveCard({ lines: [t('teams.privateAnswer', { name: asker, command: text })] }, t), id, activity.from.id, t('teams.refresh'));
    await keepPrivateView(db, { id, orgId: env.org.id, userAadObjectId: askerAad, card, sharedCard });
    await send({ type: 'message', replyToId: activity.id, attachments: [{ contentType: cardType, content: sharedCard }] });
  });

  app.on('conversationUpdate', async ({ activity, send }) => {
    const botAdded = (activity.membersAdded ?? []).some((m) => m.id === activity.recipient.id);
    if (!botAdded) return;
    const env = await envFor(activity);
    await remember(env, activity);
    // In a personal chat the welcome is the person's home card; a team or group chat gets help.
    if (activity.conversation.conversationType === 'personal') {
      await send({ type: 'message', attachments: [{ contentType: cardType, content: await home(env, activity.from.id) }] });
      return;
    }
    await send({ type: 'message', attachments: [cardAttachment(await runCommand(env, 'help'), env.t)] });
  });

  app.on('card.action', async ({ activity, api }) => {
    const env = await envFor(activity);
    const { t } = env;
    const action = actionFromInvoke(activity.value);
    const userAad = activity.from.aadObjectId ?? '';
    if (action?.id === privateViewVerb) {
      // Teams asks for the card this user sees: the asker their answer, everyone else the shared line.
      const card = env.org ? await privateView(db, env.org.id, action.value, userAad) : undefined;
      return card ? cardResponse(card) : messageResponse({ lines: [t('teams.privateAnswerGone')] });
    }
    if (action?.id === homeVerb) return cardResponse(await home(env, activity.from.id));
    const { view: viewId, home: fromHome, ...inputs } = action?.inputs ?? {};
    // A choice (which customer) can run a command that makes files.
    const view = withDownloadLinks(action ? await runAction(env, action.id, action.value, inputs) : await runCommand(env, 'help'), t);
    options.onChange?.();
    // A click in the home card: the home card again, with the outcome first, to the clicker alone.
    if (fromHome) return cardResponse(await home(env, activity.from.id, view));
    const card = renderAdaptiveCard(view, t);
    if (viewId && env.org) {
      // A click on the asker's own card: the outcome stays theirs, and their card shows it from now on.
      const own = userSpecificCard(card, viewId, activity.from.id, t('teams.refresh'));
      await replacePrivateView(db, env.org.id, viewId, userAad, own);
      return cardResponse(own);
    }
    if (activity.conversation.conversationType === 'personal') return cardResponse(card);
    // A card others see: only a committed change replaces it for everyone. A refusal, a repeat click or an
    // error is told to the clicker beside the card; a follow-up to fill in (Reject's reason) is theirs alone.
    if (!view.committed) return isSentence(view) ? messageResponse(view) : cardResponse(card);
    if (activity.replyToId) {
      await api.conversations
        .updateActivity(activity.conversation.id, activity.replyToId, { type: 'message', attachments: [{ contentType: cardType, content: card }] })
        .catch((error: unknown) => forRequest(log, env.request).warn('teams: could not update the card for everyone', error));
    }
    return cardResponse(card);
  });

  await app.initialize();
  if (!route) throw new Error('The Teams SDK registered no /api/messages handler');
  const handler = route;
  // Service URLs end with a slash; the client appends `/v3/…` to what it is given.
  const connector = (serviceUrl: string) => new Client(serviceUrl.replace(/\/+$/, ''), app.api.http);
  return {
    async handle(request, context) {
      const id = (request.body as { id?: unknown } | undefined)?.id;
      if (typeof id !== 'string') return handler(request);
      requests.set(id, context);
      try {
        return await handler(request);
      } finally {
        if (requests.get(id) === context) requests.delete(id);
      }
    },
    async post(conversation, view, t, replyTo) {
      const conversations = connector(conversation.serviceUrl).conversations;
      const activity = { type: 'message' as const, attachments: [cardAttachment(view, t)], ...(replyTo ? { replyToId: replyTo } : {}) };
      const { conversationId } = conversation;
      if (!replyTo) return { id: (await conversations.createActivity(conversationId, activity)).id };
      // A channel post starts a thread, addressed as `<channel>;messageid=<post>` (what the Teams SDK's reply does);
      // inside a thread already, the reply joins it; a chat has no threads, so the reply names the message it answers.
      if (conversation.conversationType === 'channel' && /^\d+$/.test(replyTo)) {
        const thread = conversationId.includes(';messageid=') ? conversationId : toThreadedConversationId(conversationId, replyTo);
        return { id: (await conversations.createActivity(thread, activity)).id };
      }
      return { id: (await conversations.replyToActivity(conversationId, replyTo, activity)).id };
    },
    async update(conversation, activityId, view, t) {
      await connector(conversation.serviceUrl).conversations.updateActivity(conversation.conversationId, activityId, { type: 'message', attachments: [cardAttachment(view, t)] });
    },
    async openPersonalChat(serviceUrl, person, tenantId) {
      const created = await connector(serviceUrl).conversations.create({
        isGroup: false,
        ...(options.appId ? { bot: { id: `28:${options.appId}` } } : {}),
        members: [{ id: person.id, aadObjectId: person.aadObjectId, role: 'user' }],
        tenantId,
      });
      return created.id;
    },
  };
}
