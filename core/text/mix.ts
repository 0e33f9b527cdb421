/**
 * `mezcla:70`: training lines that are 70 % Quijote and 30 % the teacher's text, interleaved in a seeded,
 * reproducible order. Each source keeps its own order; only where its lines fall changes with the seed. The
 * teacher's last lines are held out for its own evaluation, as the Quijote's last lines are.
 */
import { createRng, shuffle } from '../sample/rng.ts';

export interface MixedLines {
  lines: string[];
  /** Which source each line came from (corpus traces say which text a copied passage came from). */
  sources: Array<'quijote' | 'teacher'>;
  quijoteLines: number;
  teacherLines: number;
}

/**
 * `total` training lines, `quijotePercent` % (rounded to the nearest line) from `quijote` and the rest from
 * `teacher`, in the order a Fisher–Yates shuffle of the source labels under `seed` gives. Throws when either
 * source has too few lines for its share.
 */
export function mixLines(quijote: readonly string[], teacher: readonly string[], total: number, quijotePercent: number, seed: number): MixedLines {
  if (!Number.isInteger(total) || total < 1) throw new RangeError(`total must be a positive integer, got ${total}`);
  if (!(quijotePercent >= 0 && quijotePercent <= 100)) throw new RangeError(`quijotePercent must be in [0, 100], got ${quijotePercent}`);
  const q = Math.round((total * quijotePercent) / 100);
  const t = total - q;
  if (q > quijote.length) throw new RangeError(`the Quijote has ${quijote.length} training lines, ${q} needed`);
  if (t > teacher.length) throw new RangeError(`the teacher's text has ${teacher.length} training lines, ${t} needed`);
  const labels: Array<'quijote' | 'teacher'> = [...Array<'quijote'>(q).fill('quijote'), ...Array<'teacher'>(t).fill('teacher')];
  const sources = shuffle(labels, createRng(seed));
  let qi = 0;
  let ti = 0;
  const lines = sources.map((src) => (src === 'quijote' ? quijote[qi++] : teacher[ti++]));
  return { lines, sources, quijoteLines: q, teacherLines: t };
}

/** The teacher's text split into training lines and held-out lines: `evalLines`, at most a fifth of the text. */
export function splitTeacherLines(lines: readonly string[], evalLines: number): { train: string[]; held: string[] } {
  const held = Math.max(1, Math.min(evalLines, Math.floor(lines.length / 5)));
  return { train: lines.slice(0, lines.length - held), held: lines.slice(lines.length - held) };
}
