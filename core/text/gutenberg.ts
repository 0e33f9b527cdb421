/**
 * Project Gutenberg plain-text handling: strip the licence header/footer and the front matter, and return the
 * body's non-empty lines. Mirrors `book_lines` in shared/bench/torch_reference.py so that both sides train on
 * exactly the same lines.
 */
import { QuijoteError } from '../errors.ts';

/** `*** START OF THE PROJECT GUTENBERG EBOOK … ***` and the older `*** START OF THIS PROJECT GUTENBERG EBOOK …`. */
export const START_MARKER = /^\*\*\*\s*START OF (?:THE|THIS) PROJECT GUTENBERG E-?BOOK\b/i;
export const END_MARKER = /^\*\*\*\s*END OF (?:THE|THIS) PROJECT GUTENBERG E-?BOOK\b/i;

/** Where the Quijote's body begins once the front matter (tasa, prólogo, poems…) is skipped. */
export const DEFAULT_START_AT = /^Capítulo primero/;

/**
 * Python's `str.strip()` whitespace (what the reference uses). JavaScript's `trim()` differs: it also strips
 * U+FEFF and keeps U+001C–U+001F and U+0085.
 */
const PY_SPACE = '\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const PY_STRIP = new RegExp(`^[${PY_SPACE}]+|[${PY_SPACE}]+$`, 'g');

export function pyStrip(s: string): string {
  return s.replace(PY_STRIP, '');
}

/** BOM removed and every line ending (CRLF, lone CR) turned into LF, as Python's universal newlines do. */
export function normalizeNewlines(raw: string): string {
  const noBom = raw.charCodeAt(0) === 0xfeff ? raw.slice(1) : raw;
  return noBom.replace(/\r\n?/g, '\n');
}

/** True when the text has both Gutenberg markers (used to reject HTML error pages before caching a download). */
export function hasGutenbergMarkers(raw: string): boolean {
  const lines = normalizeNewlines(raw).split('\n');
  const s = lines.findIndex((l) => START_MARKER.test(l));
  return s >= 0 && lines.slice(s + 1).some((l) => END_MARKER.test(l));
}

/** A copy without the stateful flags, so that `test` never depends on a previous call's `lastIndex`. */
function stateless(re: RegExp): RegExp {
  return re.global || re.sticky ? new RegExp(re.source, re.flags.replace(/[gy]/g, '')) : re;
}

/**
 * The body's non-empty, trimmed lines.
 * - `startAt` undefined: skip the front matter up to the first line starting with "Capítulo primero";
 *   a RegExp: up to the first (trimmed) line it matches; null: keep everything after the START marker.
 *   When nothing matches, the body starts right after the START marker.
 * - Throws QuijoteError TEXT_MARKERS, naming `source`, when a marker is missing.
 */
export function extractBodyLines(raw: string, opts: { source: string; startAt?: RegExp | null }): string[] {
  const lines = normalizeNewlines(raw).split('\n');
  const s = lines.findIndex((l) => START_MARKER.test(l));
  const e = s < 0 ? -1 : lines.findIndex((l, i) => i > s && END_MARKER.test(l));
  if (s < 0 || e < 0) {
    const missing = s < 0 ? '*** START OF THE PROJECT GUTENBERG EBOOK … ***' : '*** END OF THE PROJECT GUTENBERG EBOOK … ***';
    throw new QuijoteError(
      'TEXT_MARKERS',
      `${opts.source} no parece un texto de Project Gutenberg: falta la línea «${missing}».`,
      { hint: 'Usa el archivo .txt UTF-8 de Gutenberg tal cual (con cabecera y licencia) o descárgalo de nuevo.' },
    );
  }
  const body = lines.slice(s + 1, e);
  const startAt = opts.startAt === undefined ? DEFAULT_START_AT : opts.startAt;
  let start = 0;
  if (startAt !== null) {
    const re = stateless(startAt);
    const found = body.findIndex((l) => {
      const t = pyStrip(l);
      return re.test(t) || re.test(t.normalize('NFC'));
    });
    if (found >= 0) start = found;
  }
  const out: string[] = [];
  for (let i = start; i < body.length; i++) {
    const t = pyStrip(body[i]);
    if (t) out.push(t);
  }
  return out;
}
