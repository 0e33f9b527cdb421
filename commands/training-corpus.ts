/**
 * The lines a run trained on, as corpus traces and the memorization meter need them: the Quijote's first lines,
 * or, for a run with a teacher's text, the same mixed lines the engine trained on (core/text/teacher-mix.ts, from
 * the stored text and the run's seed) with the place of each line: in the book, or in the teacher's text.
 */
import { bookPlaces, type BookPlace } from '../core/story/book-place.ts';
import type { RunRow } from '../core/store/types.ts';
import { mixedPlaces, teacherTrainingSet } from '../core/text/teacher-mix.ts';
import { storedTeacherLines } from './train-text.ts';
import type { Services } from './types.ts';

export interface TrainingCorpus {
  lines: string[];
  /** Training-line index → where it comes from (a teacher line has `text`, its file name). */
  placeOf: (index: number) => BookPlace | null;
  /** The teacher's text's name, for a run that mixed one in. */
  textName?: string;
}

export async function trainingCorpus(s: Services, run: RunRow | undefined): Promise<TrainingCorpus> {
  if (!run) return { lines: [], placeOf: () => null };
  const quijote = await s.text.trainingLines(run.params.lines);
  const text = run.params.text;
  const cls = text ? await s.store.getClass(run.classId) : undefined;
  const teacher = text && cls ? storedTeacherLines(s, cls, text) : undefined;
  if (!text || !teacher) {
    if (text) s.logger.warn(`run #${run.id}: the teacher's text ${text.hash.slice(0, 12)} is not stored any more; traces use the Quijote only`);
    return { lines: quijote, placeOf: bookPlaces(quijote) };
  }
  try {
    const set = teacherTrainingSet(quijote, teacher, { total: run.params.lines, mix: text.mix, seed: run.params.seed ?? s.config.ml.seed, evalLines: s.config.ml.evalLines });
    return { lines: set.lines, placeOf: mixedPlaces(set, text.name), textName: text.name };
  } catch (e) {
    s.logger.warn(`run #${run.id}: could not rebuild its mixed training lines (${String(e)}); traces use the Quijote only`);
    return { lines: quijote, placeOf: bookPlaces(quijote) };
  }
}
