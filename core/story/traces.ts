/**
 * Corpus traces for /reveal: which word sequences of a story (n >= minN words) appear verbatim in the training
 * lines. Words are compared lowercased and without punctuation; accents count ("él" ≠ "el").
 *
 * The corpus is indexed once (`buildCorpusIndex`): word ids in one array plus, for every minN-gram, a chain of
 * its positions. A story is then matched position by position, extending each candidate to its longest match.
 */
import { QuijoteError } from '../errors.ts';

const WORD = /[\p{L}\p{N}\p{M}]+/gu;

export interface CorpusIndex {
  readonly minN: number;
  /** word → id */
  readonly vocab: ReadonlyMap<string, number>;
  /** the corpus as word ids, lines joined (a sequence may cross a line break, as in the training text) */
  readonly ids: Int32Array;
  /** minN-gram key → first position; `next[p]` chains the other positions (-1 ends) */
  readonly heads: ReadonlyMap<string, number>;
  readonly next: Int32Array;
  /** index of the corpus line each word comes from */
  readonly lineOf: Int32Array;
}

/** The longest copied passage: its words in the story's spelling and where it starts in the corpus. */
export interface LongestTrace {
  text: string;
  words: number;
  /** index (0-based) of the corpus line where the copied passage begins */
  line: number;
}

export interface CorpusTraces {
  /** maximal matching spans in the story's own spelling, in story order */
  ngrams: string[];
  /** for each of `ngrams`, the corpus line (0-based) where it first occurs: which text it came from */
  ngramLines: number[];
  /** the story with merged spans wrapped in **bold** */
  highlighted: string;
  /** fraction of the story's words inside a span (0 when the story has no words) */
  coverage: number;
  /** the longest span (the first of equal ones), or null when nothing was copied */
  longest: LongestTrace | null;
  /** words of the story */
  words: number;
}

function normalizeWord(w: string): string {
  return w.normalize('NFC').toLowerCase();
}

function checkMinN(minN: number): void {
  if (!Number.isInteger(minN) || minN < 1) {
    throw new QuijoteError('BAD_ARGUMENT', `minN debe ser un entero positivo; recibido: ${String(minN)}.`);
  }
}

function gramKey(ids: ArrayLike<number>, at: number, n: number): string {
  let key = String(ids[at]);
  for (let k = 1; k < n; k++) key += ',' + ids[at + k];
  return key;
}

/** Indexes the corpus once; reuse it for every story of the same training run. */
export function buildCorpusIndex(corpusLines: readonly string[], minN: number = 3): CorpusIndex {
  checkMinN(minN);
  const vocab = new Map<string, number>();
  const list: number[] = [];
  const lines: number[] = [];
  for (const [li, line] of corpusLines.entries()) {
    for (const m of line.matchAll(WORD)) {
      const w = normalizeWord(m[0]);
      let id = vocab.get(w);
      if (id === undefined) {
        id = vocab.size;
        vocab.set(w, id);
      }
      list.push(id);
      lines.push(li);
    }
  }
  const ids = Int32Array.from(list);
  const next = new Int32Array(Math.max(0, ids.length - minN + 1)).fill(-1);
  const heads = new Map<string, number>();
  // Walk backwards so that each chain lists positions in ascending order.
  for (let p = ids.length - minN; p >= 0; p--) {
    const key = gramKey(ids, p, minN);
    const head = heads.get(key);
    if (head !== undefined) next[p] = head;
    heads.set(key, p);
  }
  return { minN, vocab, ids, heads, next, lineOf: Int32Array.from(lines) };
}

interface StoryWord {
  id: number; // -1 when the corpus never uses it
  start: number;
  end: number;
}

function storyWords(story: string, index: CorpusIndex): StoryWord[] {
  const words: StoryWord[] = [];
  for (const m of story.matchAll(WORD)) {
    const start = m.index ?? 0;
    words.push({ id: index.vocab.get(normalizeWord(m[0])) ?? -1, start, end: start + m[0].length });
  }
  return words;
}

/** For each story position, the length of the longest word sequence starting there that occurs in the corpus. */
function longestMatches(words: StoryWord[], index: CorpusIndex): number[] {
  const k = index.minN;
  const sid = words.map((w) => w.id);
  const out = new Array<number>(words.length).fill(0);
  for (let i = 0; i + k <= sid.length; i++) {
    let known = true;
    for (let t = i; t < i + k; t++) if (sid[t] < 0) known = false;
    if (!known) continue;
    let best = 0;
    const floor = i > 0 ? out[i - 1] - 1 : 0; // a suffix of the previous match matches too
    for (let p = index.heads.get(gramKey(sid, i, k)) ?? -1; p >= 0; p = index.next[p]) {
      let len = k;
      while (i + len < sid.length && p + len < index.ids.length && index.ids[p + len] === sid[i + len]) len++;
      if (len > best) best = len;
      if (i + best === sid.length) break;
    }
    out[i] = Math.max(best, floor);
  }
  return out;
}

/** First corpus position where the story's words [i, i + len) occur (the span is known to occur). */
function corpusPosition(words: StoryWord[], index: CorpusIndex, i: number, len: number): number {
  const sid = words.map((w) => w.id);
  for (let p = index.heads.get(gramKey(sid, i, index.minN)) ?? -1; p >= 0; p = index.next[p]) {
    let k = index.minN;
    while (k < len && p + k < index.ids.length && index.ids[p + k] === sid[i + k]) k++;
    if (k === len) return p;
  }
  return -1;
}

/**
 * Word sequences of the story (at least `minN` words) that occur verbatim in the corpus.
 * `corpus` is the training lines, or an index built with the same or a smaller `minN`.
 */
export function findCorpusTraces(story: string, corpus: readonly string[] | CorpusIndex, minN: number = 3): CorpusTraces {
  checkMinN(minN);
  const index = Array.isArray(corpus) ? buildCorpusIndex(corpus as readonly string[], minN) : (corpus as CorpusIndex);
  if (index.minN > minN) {
    throw new QuijoteError('BAD_ARGUMENT', `El índice del corpus se hizo con minN=${index.minN}; no sirve para minN=${minN}.`);
  }
  const words = storyWords(story, index);
  const len = longestMatches(words, index);

  // Maximal spans: a match starting at i that reaches further than every match starting before it.
  const spans: Array<[number, number]> = [];
  let reach = 0;
  for (let i = 0; i < words.length; i++) {
    if (len[i] >= minN && i + len[i] > reach) {
      spans.push([i, i + len[i]]);
      reach = i + len[i];
    }
  }
  const ngrams = spans.map(([a, b]) => story.slice(words[a].start, words[b - 1].end));
  const ngramLines = spans.map(([a, b]) => {
    const p = corpusPosition(words, index, a, b - a);
    return p >= 0 ? index.lineOf[p] : -1;
  });

  // Merge overlapping or adjacent spans for highlighting and coverage.
  const merged: Array<[number, number]> = [];
  for (const [a, b] of spans) {
    const last = merged[merged.length - 1];
    if (last && a <= last[1]) last[1] = Math.max(last[1], b);
    else merged.push([a, b]);
  }
  let highlighted = '';
  let cursor = 0;
  let covered = 0;
  for (const [a, b] of merged) {
    const from = words[a].start;
    const to = words[b - 1].end;
    highlighted += story.slice(cursor, from) + '**' + story.slice(from, to) + '**';
    cursor = to;
    covered += b - a;
  }
  highlighted += story.slice(cursor);
  let longest: LongestTrace | null = null;
  for (const [a, b] of spans) {
    if (longest && b - a <= longest.words) continue;
    const p = corpusPosition(words, index, a, b - a);
    longest = { text: story.slice(words[a].start, words[b - 1].end), words: b - a, line: p >= 0 ? index.lineOf[p] : -1 };
  }
  return { ngrams, ngramLines, highlighted, coverage: words.length === 0 ? 0 : covered / words.length, longest, words: words.length };
}
