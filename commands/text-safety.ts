/**
 * Untrusted text (prompts, texts to score, generated stories) on its way into public messages: invisible and
 * direction-changing characters are removed, Markdown and masked links are escaped, and text is cut only between
 * graphemes (never inside an emoji, a flag or a letter with its accent).
 */

/** C0/C1 controls except \n; DEL. Tabs become spaces first. */
const CONTROLS = /[\u0000-\u0009\u000B-\u001F\u007F-\u009F]/gu;
/** Bidi embeddings/overrides/isolates and marks (Trojan-Source style reordering). */
const BIDI = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/gu;
/** Zero-width and invisible formatting characters, soft hyphen, BOM, Mongolian vowel separator, tag characters. */
const INVISIBLE = /[\u00AD\u180E\u200B\u200C\u2060-\u2064\uFEFF\u{E0000}-\u{E007F}]/gu;
/** A zero-width joiner survives only between two pictographs (family and profession emoji). */
const ZWJ = /\u200D/gu;
const PICTO = /\p{Extended_Pictographic}/u;

/** What `sanitizeText` removed, so callers can log or tell the user. */
export interface Sanitized {
  text: string;
  removed: number;
}

/**
 * Removes control, bidi-override and zero-width characters (a zero-width joiner is kept inside emoji sequences),
 * normalizes to NFC and trims. A prompt made only of such characters comes out empty.
 */
export function sanitizeText(input: string): Sanitized {
  const before = input.length;
  let s = input.normalize('NFC').replace(/\t/g, ' ').replace(/\r\n?/g, '\n');
  s = s.replace(CONTROLS, '').replace(BIDI, '').replace(INVISIBLE, '');
  s = s.replace(ZWJ, (_m, offset: number, whole: string) => {
    const prev = [...whole.slice(0, offset)].at(-1) ?? '';
    const next = [...whole.slice(offset + 1)][0] ?? '';
    const prevBase = prev === '\uFE0F' ? ([...whole.slice(0, offset)].at(-2) ?? '') : prev;
    return PICTO.test(prevBase) && PICTO.test(next) ? '\u200D' : '';
  });
  s = s.trim();
  return { text: s, removed: before - s.length };
}

/**
 * Escapes the Markdown both adapters understand so untrusted text shows literally: emphasis, code, spoilers,
 * masked links ([text](url)), angle-bracket syntax (<@id>, <url|text>), and headings, quotes and list markers at
 * the start of a line. Discord renders `\X` as X; the Slack adapter (bot/slack/blocks.ts) turns escapes into
 * literal characters that Slack cannot format.
 */
export function escapeMarkdown(text: string): string {
  return text
    .replace(/[\\*_~`|[\]<>]/g, '\\$&')
    .replace(/^(\s*)([#>-])/gm, '$1\\$2');
}

const segmenter = new Intl.Segmenter('es', { granularity: 'grapheme' });

/** The longest prefix of whole graphemes whose UTF-16 length is at most `max`. */
export function graphemePrefix(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = 0;
  for (const { segment, index } of segmenter.segment(text)) {
    if (index + segment.length > max) break;
    end = index + segment.length;
  }
  return text.slice(0, end);
}

/** Cuts at a grapheme boundary with an ellipsis; the result is at most `max` UTF-16 units long. */
export function clipGraphemes(text: string, max: number): string {
  if (text.length <= max) return text;
  return `${graphemePrefix(text, Math.max(0, max - 1)).trimEnd()}…`;
}
