/**
 * The memorization meter shown with every reveal: how much of a story lies inside word n-grams copied from the
 * training lines (traces.ts), the longest copied passage and its place in the book, and whether copying is high
 * enough for the notebook's advice (fewer epochs, more lines, a lower learning rate).
 */
import type { BookPlace } from './book-place.ts';
import { findCorpusTraces, type CorpusIndex } from './traces.ts';

export interface MemorizationMeter {
  /** share of the story's words inside copied n-grams (0..1) */
  coverage: number;
  words: number;
  /** number of maximal copied passages */
  passages: number;
  longest: { text: string; words: number; place: BookPlace | null } | null;
  /** copying is high: show the notebook's advice */
  high: boolean;
}

/** Thresholds for "copying is high": a quarter of the story, or one passage of 12 words or more. */
export const HIGH_COVERAGE = 0.25;
export const HIGH_LONGEST_WORDS = 12;

export function memorizationMeter(story: string, index: CorpusIndex, placeOf: (line: number) => BookPlace | null = () => null): MemorizationMeter {
  const t = findCorpusTraces(story, index, index.minN);
  const longest = t.longest ? { text: t.longest.text, words: t.longest.words, place: placeOf(t.longest.line) } : null;
  return {
    coverage: t.coverage,
    words: t.words,
    passages: t.ngrams.length,
    longest,
    high: t.coverage >= HIGH_COVERAGE || (longest?.words ?? 0) >= HIGH_LONGEST_WORDS,
  };
}
