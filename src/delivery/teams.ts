import type { Database } from '../../db/client.js';
import type { TeamsAdapter } from '../adapters/teams/app.js';
import { teamsConversation, teamsServiceUrl, teamsTenantOf } from '../core/conversations.js';
import type { ChatPerson } from '../core/context.js';
import type { Translate } from '../i18n/index.js';
import type { View } from '../views/model.js';
import { DeliveryError, type Sender } from './worker.js';

/** The connector's answer to a failed call as the outbox understands it: when to try again, or that trying again cannot help. */
function deliveryError(error: unknown): unknown {
  const response = (error as { response?: { status?: number; headers?: Record<string, string> } }).response;
  if (response?.status === 429) {
    const retryAfter = Number.parseInt(response.headers?.['retry-after'] ?? '', 10);
    return new DeliveryError('Teams rate limit (429)', { retryAfterSeconds: Number.isFinite(retryAfter) ? retryAfter : undefined });
  }
  // 400, 403 (the bot was removed or blocked) and 404 (no such conversation or activity) will not succeed later; 401 may be a token being renewed.
  const status = response?.status;
  if (status) return new DeliveryError(`Teams answered HTTP ${status}`, { permanent: status === 400 || status === 403 || status === 404 });
  return error;
}

const unreachable = (error: unknown) => [403, 404].includes((error as { response?: { status?: number } }).response?.status ?? 0);

/**
 * Posts into a Teams conversation at the service URL learned from an
 * authenticated inbound activity; a conversation never seen that way is not
 * posted to. A message for a person goes to the bot's personal chat with them
 * when the conversation refuses it (403, 404), or at once when the target is
 * the person themselves (then at the service URL the organization was last seen at).
 */
export function teamsSender(db: Database, teams: TeamsAdapter): Sender {
  async function known(orgId: string, channelId: string) {
    const conversation = await teamsConversation(db, orgId, channelId);
    if (!conversation) throw new DeliveryError(`Teams conversation ${channelId} is unknown: add the bot there or write to it first`, { permanent: true });
    return conversation;
  }
  /** The bot's personal chat with the person, opened (or found) at `serviceUrl`, and the message posted there. */
  async function personalChat(orgId: string, serviceUrl: string, person: ChatPerson, view: View, t: Translate) {
    const tenantId = await teamsTenantOf(db, orgId);
    if (!tenantId) throw new DeliveryError('no Teams tenant is linked to open a personal chat', { permanent: true });
    try {
      const chat = { conversationId: await teams.openPersonalChat(serviceUrl, person, tenantId), serviceUrl };
      const { id } = await teams.post(chat, view, t);
      return { messageId: id, channelId: chat.conversationId };
    } catch (error) {
      const failure = deliveryError(error);
      throw failure instanceof DeliveryError ? new DeliveryError(`personal chat: ${failure.message}`, failure.options) : failure;
    }
  }
  return {
    async post({ orgId, channelId, t }, view, { person, replyTo } = {}) {
      if (person && channelId === person.id) {
        const serviceUrl = await teamsServiceUrl(db, orgId);
        if (!serviceUrl) throw new DeliveryError(`no Teams conversation of the organization is known yet, so no personal chat can be opened with ${person.id}: add the bot in Teams or write to it first`, { permanent: true });
        return personalChat(orgId, serviceUrl, person, view, t);
      }
      const conversation = await known(orgId, channelId);
      try {
        const { id } = await teams.post(conversation, view, t, replyTo);
        return { messageId: id };
      } catch (error) {
        if (!person || !unreachable(error)) throw deliveryError(error);
        const refused = (deliveryError(error) as Error).message;
        try {
          return await personalChat(orgId, conversation.serviceUrl, person, view, t);
        } catch (direct) {
          // Both routes are named, so `notify failures` shows why neither worked.
          if (direct instanceof DeliveryError) throw new DeliveryError(`${refused} in ${channelId}; ${direct.message}`, direct.options);
          throw direct;
        }
      }
    },
    async update({ orgId, channelId, t }, activityId, view) {
      const conversation = await known(orgId, channelId);
      try {
        await teams.update(conversation, activityId, view, t);
      } catch (error) {
        throw deliveryError(error);
      }
    },
  };
}
