/** OutgoingMessage → Slack `text` + Block Kit. Images are not blocks here: bot/slack/io.ts uploads them. */
import type { types } from '@slack/bolt';
import { graphemePrefix } from '../../commands/text-safety.ts';
import type { ButtonSpec, OutgoingMessage } from '../../commands/types.ts';

const SECTION_MAX = 3000; // Slack's limit for a section's text
const BUTTONS_PER_ACTIONS = 25; // Slack's limit of elements per actions block
const BUTTON_LABEL_MAX = 75;

function escapeSlack(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Slack has no escape character: an escaped formatting character becomes a look-alike Slack cannot format. */
const INERT: Record<string, string> = { '*': '\uFF0A', _: '\uFF3F', '~': '\uFF5E', '`': '\uFF40', '<': '&lt;', '>': '&gt;' };
const ESCAPE_BASE = 0xe000; // private-use placeholders while the markup is converted

/**
 * Our Markdown subset (**bold**, _italic_, *italic*, ~~strike~~, `code`, [text](url)) → Slack mrkdwn. Backslash
 * escapes (commands/text-safety.ts escapeMarkdown, used on untrusted text) come out as literal, inert characters.
 */
export function toMrkdwn(markdown: string): string {
  const held = markdown.replace(/\\([\\*_~`|[\]<>#-])/g, (_m, c: string) => String.fromCharCode(ESCAPE_BASE + c.charCodeAt(0)));
  return held
    .split(/(`[^`\n]*`)/)
    .map((part, i) => {
      if (i % 2 === 1) return escapeSlack(part); // code span: leave the markup alone
      return escapeSlack(part)
        .replace(/\[([^\]\n]+)\]\((https?:\/\/[^)\s]+)\)/g, '<$2|$1>')
        .replace(/\*\*(.+?)\*\*/gs, '\u0000$1\u0000')
        .replace(/(^|[^*\w])\*(?!\s)([^*\n]+?)\*(?![*\w])/g, '$1_$2_')
        .replace(/~~(.+?)~~/gs, '~$1~')
        .replace(/\u0000/g, '*');
    })
    .join('')
    .replace(/[\uE000-\uE07F]/g, (p) => {
      const c = String.fromCharCode(p.charCodeAt(0) - ESCAPE_BASE);
      return INERT[c] ?? c;
    });
}

/** Sections of at most `max` UTF-16 units, cut at a line break or else between graphemes (never inside an emoji). */
function chunks(text: string, max: number): string[] {
  const out: string[] = [];
  let rest = text;
  while (rest.length > max) {
    let cut = rest.lastIndexOf('\n', max);
    if (cut <= 0) cut = graphemePrefix(rest, max).length || max;
    out.push(rest.slice(0, cut));
    rest = rest.slice(cut).replace(/^\n/, '');
  }
  if (rest.trim() !== '') out.push(rest);
  return out;
}

function button(b: ButtonSpec): types.Button {
  const label = b.label.length > BUTTON_LABEL_MAX ? b.label.slice(0, BUTTON_LABEL_MAX - 1) + '…' : b.label;
  const el: types.Button = { type: 'button', action_id: b.id, value: b.id, text: { type: 'plain_text', text: label, emoji: true } };
  if (b.style === 'primary' || b.style === 'success') el.style = 'primary'; // Slack's primary is green
  else if (b.style === 'danger') el.style = 'danger';
  return el;
}

export interface SlackMessage {
  text: string; // notification / accessibility fallback
  blocks: types.KnownBlock[];
}

export function toSlackMessage(message: OutgoingMessage): SlackMessage {
  const mention = message.mentionUserId ? `<@${message.mentionUserId}> ` : '';
  const text = mention + toMrkdwn(message.text);
  const blocks: types.KnownBlock[] = chunks(text, SECTION_MAX).map((t) => ({ type: 'section', text: { type: 'mrkdwn', text: t } }));
  const buttons = message.buttons ?? [];
  for (let i = 0; i < buttons.length; i += BUTTONS_PER_ACTIONS) {
    blocks.push({ type: 'actions', elements: buttons.slice(i, i + BUTTONS_PER_ACTIONS).map(button) });
  }
  return { text: text.trim() === '' ? ' ' : text, blocks };
}
