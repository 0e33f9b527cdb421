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
    let lastImage = message.image?.data;
    if (message.image) await this.upload(ch, message.image);
    return {
      id: ts,
      edit: async (next) => {
        await this.update(ch, ts, next);
        if (next.image && !(lastImage && lastImage.equals(next.image.data))) {
          lastImage = next.image.data;
          await this.upload(ch, next.image);
        }
      },
    };
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
    return { id: `ephemeral:${id}`, edit: async (next) => void (await send(next, true)) };
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
