/**
 * A teacher's own text file, checked before anything is stored: at most 2 MB, text (not a zip, PDF, image or other
 * binary renamed .txt), UTF-8 or Latin-1 (detected and reported), at least 20 non-empty lines. Project Gutenberg
 * markers are optional: when both are there only the body between them is kept.
 */
import { extractBodyLines, hasGutenbergMarkers, normalizeNewlines, pyStrip } from './gutenberg.ts';

export const MAX_TEACHER_TEXT_BYTES = 2 * 1024 * 1024;
export const MIN_TEACHER_LINES = 20;

export type TeacherTextEncoding = 'utf-8' | 'latin-1';

export type TeacherTextRefusal =
  | { ok: false; reason: 'too-big'; bytes: number; max: number }
  | { ok: false; reason: 'zip' }
  | { ok: false; reason: 'binary'; kind: string }
  | { ok: false; reason: 'empty' }
  | { ok: false; reason: 'encoding'; detail: 'utf-16' | 'unknown' }
  | { ok: false; reason: 'few-lines'; lines: number; min: number };

export interface TeacherText {
  ok: true;
  lines: string[];
  encoding: TeacherTextEncoding;
  /** Both Gutenberg markers were found and the text between them kept. */
  gutenberg: boolean;
  bytes: number;
}

const startsWith = (b: Uint8Array, sig: number[]) => sig.every((v, i) => b[i] === v);

/** Known binary formats by their first bytes (magic numbers). */
const SIGNATURES: Array<[string, number[]]> = [
  ['PDF', [0x25, 0x50, 0x44, 0x46]],
  ['PNG', [0x89, 0x50, 0x4e, 0x47]],
  ['JPEG', [0xff, 0xd8, 0xff]],
  ['GIF', [0x47, 0x49, 0x46, 0x38]],
  ['gzip', [0x1f, 0x8b]],
  ['7z', [0x37, 0x7a, 0xbc, 0xaf]],
  ['RAR', [0x52, 0x61, 0x72, 0x21]],
  ['Word (.doc)', [0xd0, 0xcf, 0x11, 0xe0]],
];

function isControl(byte: number): boolean {
  return (byte < 0x20 && byte !== 0x09 && byte !== 0x0a && byte !== 0x0d && byte !== 0x0c) || byte === 0x7f;
}

/** Checks and decodes the file's bytes. Never throws: a refusal names the limit it broke. */
export function readTeacherText(bytes: Uint8Array): TeacherText | TeacherTextRefusal {
  if (bytes.length > MAX_TEACHER_TEXT_BYTES) return { ok: false, reason: 'too-big', bytes: bytes.length, max: MAX_TEACHER_TEXT_BYTES };
  if (startsWith(bytes, [0x50, 0x4b, 0x03, 0x04]) || startsWith(bytes, [0x50, 0x4b, 0x05, 0x06])) return { ok: false, reason: 'zip' };
  for (const [kind, sig] of SIGNATURES) if (startsWith(bytes, sig)) return { ok: false, reason: 'binary', kind };
  if (startsWith(bytes, [0xff, 0xfe]) || startsWith(bytes, [0xfe, 0xff])) return { ok: false, reason: 'encoding', detail: 'utf-16' };
  let controls = 0;
  let nuls = 0;
  for (const b of bytes) {
    if (b === 0) nuls++;
    else if (isControl(b)) controls++;
  }
  if (nuls > 0 || controls > Math.max(2, bytes.length * 0.001)) return { ok: false, reason: 'binary', kind: 'desconocido' };

  let text: string;
  let encoding: TeacherTextEncoding;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    encoding = 'utf-8';
  } catch {
    // Not UTF-8. Latin-1 maps every byte, so say "unknown" when it would give C1 control characters
    // (0x80–0x9F): that is Windows-1252 punctuation or some other encoding, not Latin-1 text.
    let c1 = 0;
    for (const b of bytes) if (b >= 0x80 && b <= 0x9f) c1++;
    if (c1 > 0) return { ok: false, reason: 'encoding', detail: 'unknown' };
    text = new TextDecoder('latin1').decode(bytes); // WHATWG maps "latin1" to windows-1252, equal to Latin-1 outside 0x80–0x9F
    encoding = 'latin-1';
  }
  const gutenberg = hasGutenbergMarkers(text);
  const lines = gutenberg
    ? extractBodyLines(text, { source: 'teacher text', startAt: null })
    : normalizeNewlines(text).split('\n').map(pyStrip).filter((l) => l.length > 0);
  if (lines.length === 0) return { ok: false, reason: 'empty' };
  if (lines.length < MIN_TEACHER_LINES) return { ok: false, reason: 'few-lines', lines: lines.length, min: MIN_TEACHER_LINES };
  return { ok: true, lines, encoding, gutenberg, bytes: bytes.length };
}
