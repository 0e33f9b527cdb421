/**
 * The teacher's own text for /train: where it comes from (an attached file, a file the platform shared, or the
 * URL of a .txt), downloading it without blocking the bot (streamed, at most 2 MB, with a timeout), and checking
 * it (core/text/teacher-text.ts). A refusal names the limit; nothing is stored until the run is created.
 */
import { splitTeacherLines } from '../core/text/mix.ts';
import { MAX_TEACHER_TEXT_BYTES, readTeacherText, type TeacherText, type TeacherTextRefusal } from '../core/text/teacher-text.ts';
import { teacherTextHash } from '../core/text/teacher-store.ts';
import { formatNumber } from './messages.ts';
import { teacherTextRefusal } from './teacher-text-messages.ts';
import type { CommandContext, IncomingFile, Services } from './types.ts';

export const TEXT_FETCH_TIMEOUT_MS = 20_000;

/** An accepted text: its checked lines, its hash, and how the class is told about it. */
export interface AcceptedText {
  file: IncomingFile;
  text: TeacherText;
  hash: string;
  /** Training lines available once its held-out lines are set aside. */
  trainLines: number;
  heldLines: number;
}

export type TextOutcome = { ok: true; accepted: AcceptedText } | { ok: false; message: string };

/**
 * A file name safe to show on both platforms and to keep in the run's settings: letters, digits, spaces and
 * `. _ ( ) -` only (no Markdown markers other than an in-word underscore, no mentions or control characters), at
 * most 80 characters.
 */
export function cleanFileName(name: string): string {
  const clean = name.normalize('NFC').replace(/[^\p{L}\p{N} ._()-]+/gu, '-').replace(/\s+/g, ' ').trim().slice(0, 80);
  return clean === '' ? 'texto.txt' : clean;
}

/** Where /train's text comes from, or undefined when the teacher gave none. Only http(s) URLs are fetched. */
export function textSourceOf(ctx: CommandContext, optionNames: { file: string; url: string }): { file: IncomingFile; fetch: typeof fetch } | { refusal: string } | undefined {
  const s = ctx.services;
  const fetchFn = s.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const attached = ctx.files?.[optionNames.file] ?? ctx.files?.[optionNames.url];
  const raw = ctx.options[optionNames.url];
  if (attached) {
    if (ctx.files?.[optionNames.file] && raw !== undefined && String(raw).trim() !== '') return { refusal: s.t('teacherText.two') };
    return { file: { ...attached, name: cleanFileName(attached.name) }, fetch: ctx.fetchFile ?? fetchFn };
  }
  if (raw === undefined || String(raw).trim() === '') return undefined;
  let url: URL;
  try {
    url = new URL(String(raw).trim().replace(/^<([^|>]*)(\|[^>]*)?>$/, '$1')); // Slack sends links as <url> or <url|label>
  } catch {
    return { refusal: s.t('teacherText.badUrl', { url: cleanFileName(String(raw)) }) };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return { refusal: s.t('teacherText.badUrl', { url: cleanFileName(url.href) }) };
  const name = decodeURIComponent(url.pathname.split('/').filter(Boolean).at(-1) ?? url.hostname) || url.hostname;
  return { file: { name: cleanFileName(name), size: null, url: url.href, contentType: null }, fetch: fetchFn };
}

type Download = { ok: true; bytes: Uint8Array } | { ok: false; refusal: TeacherTextRefusal } | { ok: false; message: string };

/**
 * The file's bytes, streamed: stops as soon as it passes `maxBytes` (the platform's size and Content-Length are
 * checked first), and gives up after `timeoutMs`. Never throws.
 */
export async function downloadText(services: Services, file: IncomingFile, fetchFn: typeof fetch, o: { maxBytes?: number; timeoutMs?: number } = {}): Promise<Download> {
  const max = o.maxBytes ?? MAX_TEACHER_TEXT_BYTES;
  const t = services.t;
  const tooBig = (bytes: number): Download => ({ ok: false, refusal: { ok: false, reason: 'too-big', bytes, max } });
  if (file.size !== null && file.size > max) return tooBig(file.size);
  const signal = AbortSignal.timeout(o.timeoutMs ?? TEXT_FETCH_TIMEOUT_MS);
  try {
    const res = await fetchFn(file.url, { signal, redirect: 'follow' });
    if (!res.ok) {
      await res.body?.cancel().catch(() => undefined);
      return { ok: false, message: t('teacherText.fetchFailed', { file: file.name, detail: `HTTP ${res.status}` }) };
    }
    const declared = Number(res.headers.get('content-length'));
    if (Number.isFinite(declared) && declared > max) {
      await res.body?.cancel().catch(() => undefined);
      return tooBig(declared);
    }
    const chunks: Uint8Array[] = [];
    let total = 0;
    if (res.body) {
      const reader = res.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        total += value.byteLength;
        if (total > max) {
          await reader.cancel().catch(() => undefined);
          return { ok: false, message: t('teacherText.tooBigStream', { file: file.name, max: formatNumber(services.locale, max / (1024 * 1024), 1) }) };
        }
        chunks.push(value);
      }
    }
    const bytes = new Uint8Array(total);
    let at = 0;
    for (const c of chunks) { bytes.set(c, at); at += c.byteLength; }
    return { ok: true, bytes };
  } catch (e) {
    const timedOut = signal.aborted;
    return {
      ok: false,
      message: timedOut
        ? t('teacherText.timeout', { file: file.name, seconds: Math.round((o.timeoutMs ?? TEXT_FETCH_TIMEOUT_MS) / 1000) })
        : t('teacherText.fetchFailed', { file: file.name, detail: e instanceof Error ? (e.cause instanceof Error ? e.cause.message : e.message) : String(e) }),
    };
  }
}

/** Downloads and checks the teacher's text; the outcome is the accepted text or the refusal to say. */
export async function acceptText(services: Services, source: { file: IncomingFile; fetch: typeof fetch }): Promise<TextOutcome> {
  const got = await downloadText(services, source.file, source.fetch);
  if (!got.ok) return { ok: false, message: 'refusal' in got ? teacherTextRefusal(services, got.refusal, source.file.name) : got.message };
  const text = readTeacherText(got.bytes);
  if (!text.ok) return { ok: false, message: teacherTextRefusal(services, text, source.file.name) };
  const split = splitTeacherLines(text.lines, services.config.ml.evalLines);
  return { ok: true, accepted: { file: source.file, text, hash: teacherTextHash(text.lines), trainLines: split.train.length, heldLines: split.held.length } };
}
