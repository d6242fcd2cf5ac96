import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import type { RespondFn } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import type { Translate } from '../../i18n/index.js';
import type { Logger } from '../../log.js';
import type { View, ViewFile } from '../../views/model.js';
import { renderSlack, renderSlackRichText } from '../../views/slack.js';
import { discardFiles, fileSize } from '../downloads.js';

// The files a reply makes (exports, price lists), uploaded to the Slack channel it was asked in.

/** The reply says which files are on their way to the channel. */
export function withUploadNote(view: View, t: Translate): View {
  if (!view.files?.length) return view;
  return { ...view, lines: [...(view.lines ?? []), t('files.slackUploading', { files: view.files.map((f) => f.name).join(', ') })] };
}

/**
 * The bytes of one file to the upload URL files.getUploadURLExternal gives: an export is
 * streamed from disk (files.uploadV2 of the Web API client would read it whole into memory).
 */
async function uploadFile(client: WebClient, file: ViewFile): Promise<{ id: string; title: string }> {
  const length = fileSize(file);
  const { upload_url: url, file_id: id } = await client.files.getUploadURLExternal({ filename: file.name, length });
  // A stream's length is told, so it is not sent chunked; fetch measures bytes in memory itself.
  const body = 'data' in file ? { body: file.data } : { body: Readable.toWeb(createReadStream(file.path)) as ReadableStream<Uint8Array>, headers: { 'content-length': String(length) }, duplex: 'half' };
  const answer = await fetch(url!, { method: 'POST', ...body } as RequestInit);
  await answer.body?.cancel();
  if (!answer.ok) throw new Error(`the upload of ${file.name} was answered HTTP ${answer.status}`);
  return { id: id!, title: file.name };
}

/**
 * A reply's files go to the channel as files.uploadV2 does it (files.getUploadURLExternal,
 * the bytes to the URL it gives, files.completeUploadExternal); a failure is told to the asker alone.
 */
export async function uploadFiles(client: WebClient, channelId: string | undefined, view: View, respond: RespondFn, t: Translate, log: Logger) {
  try {
    if (!channelId) throw new Error('no channel to upload to');
    const [first, ...rest] = view.files ?? [];
    const files: Parameters<WebClient['files']['completeUploadExternal']>[0]['files'] = [await uploadFile(client, first!)];
    for (const file of rest) files.push(await uploadFile(client, file));
    // Rich text, not initial_comment: a comment is mrkdwn, which cannot escape `*`, `_` or `~` in names.
    await client.files.completeUploadExternal({ channel_id: channelId, files, blocks: renderSlackRichText(view, t) });
  } catch (error) {
    const code = (error as { data?: { error?: string } }).data?.error;
    log.warn(`slack: could not upload files to ${channelId}`, error);
    const key = code === 'not_in_channel' || code === 'channel_not_found' ? 'files.slackNotInChannel' : 'files.slackUploadFailed';
    await respond({ response_type: 'ephemeral', ...renderSlack({ tone: 'error', lines: [t(key, { reason: code ?? (error as Error).message })] }, t) });
  } finally {
    await discardFiles(view.files);
  }
}
