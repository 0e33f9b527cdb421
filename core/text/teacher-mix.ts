/**
 * What a run with a teacher's text trains and evaluates on, as one pure function that the engine (compute side)
 * and the bot (corpus traces, memorization meter) both call, so they agree line for line:
 *  - `lines` training lines in all: `mix` % the Quijote's first lines, the rest the teacher's text's first lines,
 *    interleaved under the run's seed (mix.ts mixLines);
 *  - the Quijote's held-out lines stay its last EVAL_LINES (unchanged), and the teacher's text holds out its own
 *    last lines (the same number, at most a fifth of the text: mix.ts splitTeacherLines), never trained on.
 */
import { QuijoteError } from '../errors.ts';
import type { BookPlace } from '../story/book-place.ts';
import { bookPlaces } from '../story/book-place.ts';
import { mixLines, splitTeacherLines } from './mix.ts';

/** By default (a text but no `mezcla:`) half the lines are the Quijote's: both perplexities then mean something. */
export const DEFAULT_MIX = 50;

export interface TeacherTrainingSet {
  /** The training lines, in training order. */
  lines: string[];
  sources: Array<'quijote' | 'teacher'>;
  quijoteLines: number;
  teacherLines: number;
  /** The teacher's held-out lines (its second evaluation). */
  held: string[];
}

/** How many lines of each source `total` training lines at `mix` % Quijote take. */
export function mixCounts(total: number, mix: number): { quijote: number; teacher: number } {
  const quijote = Math.round((total * mix) / 100);
  return { quijote, teacher: total - quijote };
}

/**
 * The largest `total` whose shares fit: at most `quijoteMax` Quijote lines (the book minus its eval lines) and
 * `teacherTrain` teacher lines (the text minus its held-out lines).
 */
export function maxMixedLines(quijoteMax: number, teacherTrain: number, mix: number): number {
  let best = 0;
  // Both shares never shrink as the total grows: walk down from an upper bound to the first total that fits.
  // Rounding lets a share be half a line above its exact value: q >= n·mix/100 − ½ and t >= n·(100 − mix)/100 − ½.
  const bound = mix === 100 ? quijoteMax : mix === 0 ? teacherTrain
    : Math.min(Math.floor(((quijoteMax + 0.5) * 100) / mix) + 1, Math.floor(((teacherTrain + 0.5) * 100) / (100 - mix)) + 1);
  for (let n = bound; n >= 1; n--) {
    const c = mixCounts(n, mix);
    if (c.quijote <= quijoteMax && c.teacher <= teacherTrain) { best = n; break; }
  }
  return best;
}

/**
 * The training set of a run with a teacher's text. `quijote` holds at least the first `total` lines of the book
 * (more is fine). Throws BAD_LINES, saying the largest valid `lines`, when a source is too short for its share.
 */
export function teacherTrainingSet(
  quijote: readonly string[], teacherText: readonly string[], o: { total: number; mix: number; seed: number; evalLines: number; quijoteMax?: number },
): TeacherTrainingSet {
  const { train, held } = splitTeacherLines(teacherText, o.evalLines);
  const need = mixCounts(o.total, o.mix);
  if (need.teacher > train.length || need.quijote > (o.quijoteMax ?? quijote.length)) {
    const max = maxMixedLines(o.quijoteMax ?? quijote.length, train.length, o.mix);
    throw new QuijoteError('BAD_LINES', `Con mezcla ${o.mix} caben como mucho ${max} líneas de entrenamiento (el texto da ${train.length} sin sus ${held.length} de evaluación); recibido: ${o.total}.`, {
      hint: `Pide \`lines:${max}\` o menos, o cambia la mezcla.`,
    });
  }
  const m = mixLines(quijote, train, o.total, o.mix, o.seed);
  return { lines: m.lines, sources: m.sources, quijoteLines: m.quijoteLines, teacherLines: m.teacherLines, held };
}

/** Where a training line came from: a place in the book, or a line of the teacher's text (`text` is its name). */
export type CorpusPlace = BookPlace;

/**
 * For a mixed training set: training-line index → its place. A Quijote line gets its place in the book (part,
 * chapter, line), a teacher line its line number in the teacher's text and the text's name.
 */
export function mixedPlaces(set: Pick<TeacherTrainingSet, 'lines' | 'sources'>, textName: string): (index: number) => CorpusPlace | null {
  const quijote: string[] = [];
  const local: number[] = [];
  let teacher = 0;
  for (const [i, src] of set.sources.entries()) {
    if (src === 'quijote') { local.push(quijote.length); quijote.push(set.lines[i]); } else local.push(teacher++);
  }
  const book = bookPlaces(quijote);
  return (index) => {
    if (!Number.isInteger(index) || index < 0 || index >= set.lines.length) return null;
    return set.sources[index] === 'quijote' ? book(local[index]) : { part: '', chapter: '', line: local[index] + 1, text: textName };
  };
}

/** Token blocks for an evaluation: whole blocks (group_texts); a text shorter than one block is one short block. */
export function evalBlocksOf(ids: number[], blockSize: number): number[][] {
  const blocks: number[][] = [];
  for (let i = 0; i + blockSize <= ids.length; i += blockSize) blocks.push(ids.slice(i, i + blockSize));
  if (blocks.length === 0 && ids.length >= 2) blocks.push(ids.slice());
  return blocks;
}
