/**
 * Channel messages sent with the bot token (polls, progress): a reset connection is retried (@discordjs/rest only
 * retries when Node names the error ECONNRESET, not undici's "other side closed" / "fetch failed"), and a refusal
 * for missing permissions says which permissions the bot lacks in this channel, in the bot's language.
 */
import { DiscordAPIError, PermissionFlagsBits, type ButtonInteraction, type ChatInputCommandInteraction, type Message } from 'discord.js';
import type { MessageHandle, OutgoingMessage } from '../../commands/types.ts';
import { QuijoteError } from '../../core/errors.ts';
import { sendableChannel } from './caller.ts';
import { toEditPayload, toPayload } from './payload.ts';
import type { AdapterTexts } from './texts.ts';

type Repliable = ChatInputCommandInteraction | ButtonInteraction;

/** Attempts for a request whose connection was reset before any answer (so Discord did not act on it). */
export const NETWORK_ATTEMPTS = 3;
const RETRY_DELAY_MS = 250;

/** The permissions a channel message needs, with the names Discord shows in Spanish and English. */
const NEEDED = [
  { bit: PermissionFlagsBits.ViewChannel, es: 'Ver canal', en: 'View Channel' },
  { bit: PermissionFlagsBits.SendMessages, es: 'Enviar mensajes', en: 'Send Messages' },
  { bit: PermissionFlagsBits.ReadMessageHistory, es: 'Leer el historial de mensajes', en: 'Read Message History' },
  { bit: PermissionFlagsBits.EmbedLinks, es: 'Insertar enlaces', en: 'Embed Links' },
] as const;
const ATTACH = { bit: PermissionFlagsBits.AttachFiles, es: 'Adjuntar archivos', en: 'Attach Files' } as const;

/** A connection reset or dropped socket, as Node's fetch (undici) reports it: no HTTP status came back. */
export function isNetworkReset(e: unknown): boolean {
  if (!(e instanceof Error) || e instanceof DiscordAPIError) return false;
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  const text = `${(e as { code?: string }).code ?? ''} ${e.message} ${cause?.code ?? ''} ${cause?.message ?? ''}`;
  return /ECONNRESET|UND_ERR_SOCKET|other side closed|socket hang up|fetch failed|EPIPE/i.test(text);
}

export async function retryNetwork<T>(fn: () => Promise<T>, log?: (line: string) => void): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (!isNetworkReset(e) || attempt >= NETWORK_ATTEMPTS) throw e;
      log?.(`discord: connection reset (${e instanceof Error ? e.message : String(e)}); retrying (${attempt}/${NETWORK_ATTEMPTS - 1})`);
      await new Promise((r) => setTimeout(r, RETRY_DELAY_MS * attempt));
    }
  }
}

/** Missing Permissions / Missing Access → a QuijoteError FORBIDDEN naming what the bot lacks in this channel. */
export function explainPostFailure(i: Repliable, e: unknown, texts: AdapterTexts, withImage: boolean): unknown {
  if (!(e instanceof DiscordAPIError) || (e.code !== 50013 && e.code !== 50001)) return e;
  const perms = i.appPermissions;
  const wanted = withImage ? [...NEEDED, ATTACH] : [...NEEDED];
  const missing = wanted.filter((p) => perms && !perms.has(p.bit, false)).map((p) => texts.permissionName(p));
  return new QuijoteError('FORBIDDEN', texts.missingPermissions(missing), { cause: e });
}

/** An ordinary channel message sent with the bot token: it outlives the interaction token (15 minutes). */
export async function postToChannel(i: Repliable, msg: OutgoingMessage, texts: AdapterTexts, log?: (line: string) => void): Promise<MessageHandle> {
  const channel = await sendableChannel(i);
  let sent: Message;
  try {
    sent = await retryNetwork<Message>(() => channel.send(toPayload(msg)), log);
  } catch (e) {
    throw explainPostFailure(i, e, texts, Boolean(msg.image));
  }
  // edited through the channel: with HTTP interactions the client caches no guild, and the message's own channel is null
  return { id: sent.id, edit: async (next) => void (await retryNetwork(() => channel.messages.edit(sent.id, toEditPayload(next)), log)) };
}
