import type { Database } from '../../db/client.js';
import type { TeamsAdapter } from '../adapters/teams/app.js';
import { teamsConversation } from '../core/conversations.js';
import { DeliveryError, type Sender } from './worker.js';

/**
 * Posts into a Teams conversation at the service URL learned from an
 * authenticated inbound activity; a conversation never seen that way is not posted to.
 */
export function teamsSender(db: Database, teams: TeamsAdapter): Sender {
  return async ({ orgId, channelId }, view) => {
    const conversation = await teamsConversation(db, orgId, channelId);
    if (!conversation) throw new DeliveryError(`Teams conversation ${channelId} is unknown: add the bot there or write to it first`, { permanent: true });
    try {
      const { id } = await teams.post(conversation, view);
      return { messageId: id };
    } catch (error) {
      const response = (error as { response?: { status?: number; headers?: Record<string, string> } }).response;
      if (response?.status === 429) {
        const retryAfter = Number.parseInt(response.headers?.['retry-after'] ?? '', 10);
        throw new DeliveryError('Teams rate limit (429)', { retryAfterSeconds: Number.isFinite(retryAfter) ? retryAfter : undefined });
      }
      // 400, 403 (the bot was removed or blocked) and 404 (no such conversation) will not succeed later; 401 may be a token being renewed.
      const status = response?.status;
      if (status) throw new DeliveryError(`Teams answered HTTP ${status}`, { permanent: status === 400 || status === 403 || status === 404 });
      throw error;
    }
  };
}
