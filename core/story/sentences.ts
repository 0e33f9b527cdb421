/**
 * Spanish sentence splitting for the "cuento de 5 oraciones": read the text as a Spanish reader would.
 *
 * - `.` `?` `!` `…` (and `...`) end a sentence; closing quotes/brackets right after them stay with it.
 * - `?` `!` `…` followed by a comma, semicolon or colon, or by a lowercase word (possibly after an inciso dash
 *   or an opening ¿ ¡ « "), do not end it: "¿Qué dices?, preguntó él." and "¡Ay! exclamó." are one sentence.
 * - `.` is not an end after abbreviations (Sr., Dña., Ud., núm., pág., Excmo. …), single capital initials
 *   ("D. Quijote"), or when a letter or digit follows directly ("3.5", "S.A."). "etc." behaves like `?`.
 * - A dialogue dash (— – -) at the start of a line, or a blank line, closes the utterance before it, unless
 *   the dash introduces a lowercase inciso ("\n—dijo él").
 */
import { QuijoteError } from '../errors.ts';

export type SentenceEnd = 'terminal' | 'break' | 'fragment';

/** [start, end) offsets into the text: from the first to just after the last character of the sentence. */
export interface SentenceSpan {
  start: number;
  end: number;
  /** terminal: ends with punctuation; break: closed by a line-start dash or blank line; fragment: unfinished tail. */
  kind: SentenceEnd;
}

const TERMINALS = new Set(['.', '?', '!', '…']);
const CLOSERS = new Set(['”', '»', '"', "'", '’', ')', ']', '}', '›']);
const OPENERS = new Set(['¿', '¡', '«', '“', '"', "'", '‘', '(', '[', '‹']);
const DASHES = new Set(['—', '–', '-', '―']);
const CONTINUERS = new Set([',', ';', ':']);

/** Abbreviations (lowercase, without the dot) after which a period never ends a sentence. */
const NEVER_END = new Set([
  'sr', 'sra', 'srta', 'sres', 'srs', 'd', 'dña', 'dn', 'ud', 'uds', 'vd', 'vds', 'dr', 'dra', 'dres',
  'excmo', 'excma', 'ilmo', 'ilma', 'rvdo', 'rvda', 'lcdo', 'lcda', 'ldo', 'lda', 'lic', 'prof', 'profa',
  'ing', 'arq', 'gral', 'sto', 'sta', 'fr', 'mr', 'mrs', 'núm', 'num', 'págs', 'pág', 'pag', 'cap', 'caps',
  'art', 'vol', 'vols', 'fig', 'ej', 'p', 'pp', 'ed', 'tel', 'aprox', 'av', 'avda', 'cía', 'hnos', 'dto',
  'depto', 'admón', 'apdo', 'vs', 'cf', 'cfr', 'op', 'cit', 'ibíd', 'íd',
]);
/** Abbreviations that may also close a sentence: they end it only when a capital letter (or nothing) follows. */
const SOFT_END = new Set(['etc']);

const isSpace = (c: string): boolean => /\s/u.test(c);
const isWordChar = (c: string): boolean => /[\p{L}\p{N}\p{M}]/u.test(c);
const isLetter = (c: string): boolean => /[\p{L}\p{M}]/u.test(c);
const isLower = (c: string): boolean => /\p{Ll}/u.test(c);
const hasContent = (s: string): boolean => /[\p{L}\p{N}]/u.test(s);

/** The word right before offset `i` (letters only). */
function wordBefore(text: string, i: number): string {
  let k = i;
  while (k > 0 && isLetter(text[k - 1])) k--;
  return text.slice(k, i);
}

/** From `k`, skip spaces, dashes and opening marks; true when the first word starts with a lowercase letter. */
function lowercaseFollows(text: string, k: number): boolean {
  let m = k;
  while (m < text.length && (isSpace(text[m]) || DASHES.has(text[m]) || OPENERS.has(text[m]))) m++;
  return m < text.length && isLower(text[m]);
}

/**
 * Examines the terminal punctuation at `i`. Returns where the run (terminals + closing marks) ends and
 * whether it closes the sentence.
 */
function terminalRun(text: string, i: number): { end: number; boundary: boolean } {
  const n = text.length;
  let soft = text[i] !== '.';
  if (text[i] === '.' && text[i + 1] !== '.' && text[i - 1] !== '.') {
    const word = wordBefore(text, i);
    const lower = word.toLowerCase();
    if (NEVER_END.has(lower) || (word.length === 1 && /\p{Lu}/u.test(word))) return { end: i + 1, boundary: false };
    if (SOFT_END.has(lower)) soft = true;
  }
  let j = i;
  let last = i;
  while (j < n && (TERMINALS.has(text[j]) || CLOSERS.has(text[j]))) {
    if (TERMINALS.has(text[j])) last = j;
    j++;
  }
  if (last !== i) soft = !(text[last] === '.' && text[last - 1] !== '.');
  if (text[last] === '.' && text[last - 1] === '.') soft = true; // "..." is an ellipsis
  if (j >= n) return { end: j, boundary: true };
  if (isWordChar(text[j]) || CONTINUERS.has(text[j])) return { end: j, boundary: false };
  let k = j;
  let newlines = 0;
  while (k < n && isSpace(text[k])) {
    if (text[k] === '\n') newlines++;
    k++;
  }
  if (k >= n || !soft || newlines >= 2) return { end: j, boundary: true };
  if (CONTINUERS.has(text[k])) return { end: j, boundary: false };
  return { end: j, boundary: !lowercaseFollows(text, k) };
}

/** Every sentence of `text` as offsets, in order. Only the last one can be a `fragment`. */
export function scanSentences(text: string): SentenceSpan[] {
  const spans: SentenceSpan[] = [];
  const n = text.length;
  let segStart = -1;
  let lastNonSpace = -1;

  const close = (end: number, kind: SentenceEnd): void => {
    if (segStart < 0) return;
    if (hasContent(text.slice(segStart, end))) {
      spans.push({ start: segStart, end, kind });
      segStart = -1;
    } else if (spans.length > 0) {
      spans[spans.length - 1].end = end; // stray punctuation joins the previous sentence
      segStart = -1;
    } // otherwise it stays at the start of the next sentence
  };

  let i = 0;
  while (i < n) {
    const c = text[i];
    if (c === '\n') {
      let k = i;
      let newlines = 0;
      while (k < n && isSpace(text[k])) {
        if (text[k] === '\n') newlines++;
        k++;
      }
      const dash = k < n && DASHES.has(text[k]) && !lowercaseFollows(text, k);
      if (k < n && (newlines >= 2 || dash)) close(lastNonSpace + 1, 'break');
      i = k;
      continue;
    }
    if (isSpace(c)) {
      i++;
      continue;
    }
    if (segStart < 0) segStart = i;
    if (TERMINALS.has(c)) {
      const run = terminalRun(text, i);
      lastNonSpace = run.end - 1;
      if (run.boundary) close(run.end, 'terminal');
      i = run.end;
      continue;
    }
    lastNonSpace = i;
    i++;
  }
  if (segStart >= 0) {
    const end = lastNonSpace + 1;
    if (hasContent(text.slice(segStart, end)) || spans.length === 0) spans.push({ start: segStart, end, kind: 'fragment' });
    else spans[spans.length - 1].end = end;
  }
  return spans;
}

/** The sentences as strings (original spelling and inner line breaks kept); an unfinished tail is included. */
export function splitSentences(text: string): string[] {
  return scanSentences(text).map((s) => text.slice(s.start, s.end));
}

/**
 * The text up to and including the `maxSentences`-th sentence (its punctuation and closing quotes), trimmed.
 * With fewer finished sentences, the whole trimmed text and `complete: false` (nothing is ever added).
 * An unfinished tail does not count as a sentence.
 */
export function cutStory(text: string, maxSentences: number = 5): { text: string; sentences: number; complete: boolean } {
  if (!Number.isInteger(maxSentences) || maxSentences < 1) {
    throw new QuijoteError('BAD_ARGUMENT', `cutStory: maxSentences debe ser un entero positivo; recibido: ${String(maxSentences)}.`);
  }
  const finished = scanSentences(text).filter((s) => s.kind !== 'fragment');
  if (finished.length >= maxSentences) {
    return { text: text.slice(0, finished[maxSentences - 1].end).trim(), sentences: maxSentences, complete: true };
  }
  return { text: text.trim(), sentences: finished.length, complete: false };
}
