/** OutgoingMessage (platform-neutral) → discord.js message options. */
import { ActionRowBuilder, AttachmentBuilder, ButtonBuilder, ButtonStyle } from 'discord.js';
import { clipGraphemes } from '../../commands/text-safety.ts';
import type { ButtonSpec, OutgoingMessage } from '../../commands/types.ts';

export const MAX_CONTENT = 2000; // Discord's limit for message content
const BUTTONS_PER_ROW = 5;
const MAX_ROWS = 5;

const STYLES: Record<NonNullable<ButtonSpec['style']>, ButtonStyle> = {
  primary: ButtonStyle.Primary,
  secondary: ButtonStyle.Secondary,
  success: ButtonStyle.Success,
  danger: ButtonStyle.Danger,
};

export interface DiscordPayload {
  content: string;
  components: ActionRowBuilder<ButtonBuilder>[];
  files: AttachmentBuilder[];
  /** Only the mentioned caller is pinged; generated text can never ping @everyone or roles. */
  allowedMentions: { parse: []; users: string[] };
}

/** Payload for a new message. */
export function toPayload(msg: OutgoingMessage): DiscordPayload {
  const mention = msg.mentionUserId ? `<@${msg.mentionUserId}> ` : '';
  return {
    content: truncate(mention + msg.text),
    components: buttonRows(msg.buttons ?? []),
    files: msg.image
      ? [new AttachmentBuilder(msg.image.data, { name: msg.image.filename, description: msg.image.alt.slice(0, 1024) })]
      : [],
    allowedMentions: { parse: [], users: msg.mentionUserId ? [msg.mentionUserId] : [] },
  };
}

/** Payload for an edit: the message is replaced as a whole (old image and buttons go unless given again). */
export function toEditPayload(msg: OutgoingMessage): DiscordPayload & { attachments: [] } {
  return { ...toPayload(msg), attachments: [] };
}

export function buttonRows(buttons: ButtonSpec[]): ActionRowBuilder<ButtonBuilder>[] {
  const rows: ActionRowBuilder<ButtonBuilder>[] = [];
  for (let i = 0; i < Math.min(buttons.length, BUTTONS_PER_ROW * MAX_ROWS); i += BUTTONS_PER_ROW) {
    const row = new ActionRowBuilder<ButtonBuilder>();
    for (const b of buttons.slice(i, i + BUTTONS_PER_ROW)) {
      row.addComponents(
        new ButtonBuilder()
          .setCustomId(b.id.slice(0, 100))
          .setLabel(b.label.slice(0, 80))
          .setStyle(STYLES[b.style ?? 'primary']),
      );
    }
    rows.push(row);
  }
  return rows;
}

/**
 * Fits Discord's 2000-character content limit without splitting a character and without losing the last
 * paragraph (a poll's tally, a command's conclusion): the middle is shortened instead. Commands size their
 * messages to fit (commands/poll.ts); this is the safety net.
 */
export function truncate(text: string, max: number = MAX_CONTENT): string {
  if (text.length <= max) return text;
  const split = text.lastIndexOf('\n\n');
  const tail = split > 0 ? text.slice(split) : '';
  if (tail.length > 0 && tail.length <= max / 2) return `${clipGraphemes(text.slice(0, split), max - tail.length)}${tail}`;
  return clipGraphemes(text, max);
}
