/**
 * Slack output: channel messages (chat.postMessage / chat.update), ephemeral messages (chat.postEphemeral, or the
 * response_url when the bot cannot post in that channel) and PNG uploads (files.uploadV2 into the channel).
 */
import type { RespondFn, webApi } from '@slack/bolt';
import type { MessageHandle, OutgoingMessage } from '../../commands/types.ts';
import { QuijoteError } from '../../core/errors.ts';
import { toSlackMessage } from './blocks.ts';
import type { Texts } from './texts.ts';

type Image = NonNullable<OutgoingMessage['image']>;
const CANNOT_POST = ['not_in_channel', 'channel_not_found', 'is_archived', 'restricted_action'];

export class SlackIO {
  constructor(
    private readonly client: webApi.WebClient,
    private readonly texts: Texts,
    private readonly log: (line: string) => void,
    /** Client for chat.update with bounded retries (bot/slack/index.ts EDIT_CLIENT); defaults to `client`. */
    private readonly editClient: webApi.WebClient = client,
  ) {}

  /** A channel message; editing it updates it in place (and uploads a new image if the image changed). */
  async post(channel: string, message: OutgoingMessage): Promise<MessageHandle> {
    const res = await this.client.chat.postMessage({ channel, ...toSlackMessage(message) }).catch((e) => {
      const code = (e as { data?: { error?: string } }).data?.error ?? '';
      if (!CANNOT_POST.includes(code)) throw e;
      throw new QuijoteError('FORBIDDEN', this.texts.cannotPost(code), { cause: e });
    });
    const ts = res.ts!;
    const ch = res.channel ?? channel;
    if (message.image) await this.uploadFor(ch, ts, message.image);
    if (message.file) await this.uploadFile(ch, message.file);
    return { id: ts, edit: (next) => this.edit(ch, ts, next) };
  }

  /** Updates a channel message and uploads its image when it changed (Slack messages cannot carry one inline). */
  async edit(channel: string, ts: string, message: OutgoingMessage): Promise<void> {
    await this.update(channel, ts, message);
    if (message.image && !this.images.get(ts)?.equals(message.image.data)) await this.uploadFor(channel, ts, message.image);
  }

  /** The last image uploaded for each message (by ts), so an edit that keeps it does not upload it again. */
  private readonly images = new Map<string, Buffer>();

  private async uploadFor(channel: string, ts: string, image: Image): Promise<void> {
    this.images.delete(ts);
    this.images.set(ts, image.data);
    while (this.images.size > 200) this.images.delete(this.images.keys().next().value as string);
    await this.upload(channel, image);
  }

  async update(channel: string, ts: string, message: OutgoingMessage): Promise<void> {
    await this.editClient.chat.update({ channel, ts, ...toSlackMessage(message) });
  }

  /**
   * Only `user` sees it. Ephemeral messages cannot be edited through chat.update, so edit() sends a fresh one
   * (or replaces it through the response_url when we have one). Images are not allowed in ephemerals: we say so.
   */
  async ephemeral(channel: string, user: string, message: OutgoingMessage, respond?: RespondFn): Promise<MessageHandle> {
    const send = async (m: OutgoingMessage, replace: boolean): Promise<string> => {
      const body = toSlackMessage(m.image ? { ...m, text: `${m.text}\n_(${m.image.alt})_` } : m);
      try {
        const res = await this.client.chat.postEphemeral({ channel, user, ...body });
        return res.message_ts ?? '';
      } catch (e) {
        if (!respond) throw e;
        // e.g. not_in_channel / channel_not_found in a DM: the interaction's response_url still works
        this.log(`[slack] chat.postEphemeral falló (${(e as Error).message}); uso response_url`);
        await respond({ response_type: 'ephemeral', replace_original: replace, ...body });
        return 'response_url';
      }
    };
    const id = await send(message, false);
    // An ephemeral cannot carry a file: it goes to the caller's direct messages with the bot, never the channel.
    if (message.file) {
      const dm = await this.client.conversations.open({ users: user });
      await this.uploadFile(dm.channel!.id!, message.file);
    }
    return { id: `ephemeral:${id}`, edit: async (next) => void (await send(next, true)) };
  }

  async uploadFile(channel: string, file: NonNullable<OutgoingMessage['file']>): Promise<void> {
    await this.client.files.uploadV2({ channel_id: channel, file: file.data, filename: file.filename, title: file.description });
  }

  async upload(channel: string, image: Image): Promise<void> {
    await this.client.files.uploadV2({
      channel_id: channel,
      file: image.data,
      filename: image.filename,
      title: image.alt,
      alt_text: image.alt,
    });
  }
}
