/**
 * The memorization meter's text (core/story/memorization.ts): with every reveal (the passage quoted, with its
 * place in the book) and after /train for the automatic poll (blind: the share and the place, not the passage,
 * so the poll still does not say which story is the class model's).
 */
import { bookPlaces, type BookPlace } from '../core/story/book-place.ts';
import { memorizationMeter, type MemorizationMeter } from '../core/story/memorization.ts';
import { buildCorpusIndex } from '../core/story/traces.ts';
import type { PollRow, RunRow } from '../core/store/types.ts';
import { formatPercent } from './messages.ts';
import { clip } from './respond.ts';
import { escapeMarkdown } from './text-safety.ts';
import { trainingCorpus } from './training-corpus.ts';
import type { Services } from './types.ts';

export const METER_MIN_WORDS = 3;

/** `placeOf`: where each training line is (default: the book; a mixed run's corpus also names the teacher's text). */
export function measure(story: string, trainingLines: readonly string[], placeOf: (line: number) => BookPlace | null = bookPlaces(trainingLines)): MemorizationMeter {
  return memorizationMeter(story, buildCorpusIndex(trainingLines, METER_MIN_WORDS), placeOf);
}

export function meterText(s: Services, m: MemorizationMeter, opts: { blind?: boolean } = {}): string {
  const t = s.t;
  const lines = [t('meter.line', { share: formatPercent(s.locale, m.coverage), n: METER_MIN_WORDS, passages: m.passages })];
  const l = m.longest;
  if (!l) lines.push(t('meter.none'));
  else if (l.place?.text !== undefined) {
    const where = { file: escapeMarkdown(l.place.text), line: l.place.line };
    lines.push(opts.blind ? t('meter.longestTextBlind', { words: l.words, ...where }) : t('meter.longestText', { words: l.words, text: clip(escapeMarkdown(l.text), 200), ...where }));
  } else {
    const place = { part: l.place?.part ?? '—', chapter: l.place?.chapter || '—', line: l.place?.line ?? '—' };
    lines.push(opts.blind ? t('meter.longestBlind', { words: l.words, ...place }) : t('meter.longest', { words: l.words, text: clip(escapeMarkdown(l.text), 200), ...place }));
  }
  if (m.high) lines.push(t('meter.advice'));
  return lines.join('\n');
}

/** After /train's automatic poll: the meter of the class model's story, blind. */
export async function postTrainMeter(s: Services, poll: PollRow, run: RunRow, post: (text: string) => Promise<unknown>): Promise<void> {
  const story = await s.store.getStory(poll.finetunedChoice === 'A' ? poll.storyAId : poll.storyBId);
  if (!story) return;
  const corpus = await trainingCorpus(s, run);
  const m = measure(story.text, corpus.lines, corpus.placeOf);
  await post(`${s.t('meter.train', { poll: poll.id })}\n${meterText(s, m, { blind: true })}`);
}
