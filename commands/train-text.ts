/**
 * /train's teacher-text pieces: choosing the text and the mix (`archivo:` / `texto:` and `mezcla:`), reading a
 * stored text back for `/train repetir:#id`, and the results card's second perplexity ("lo que ganamos, lo que
 * perdimos"). The pure parts are core/text/teacher-mix.ts; fetching and checking, teacher-text.ts.
 */
import type { TrainResult } from '../core/engine.ts';
import type { Place } from '../core/place.ts';
import type { RunRow, RunText } from '../core/store/types.ts';
import { DEFAULT_MIX, maxMixedLines, mixCounts } from '../core/text/teacher-mix.ts';
import { loadTeacherText, teacherTextHash } from '../core/text/teacher-store.ts';
import { formatNumber, formatPercent } from './messages.ts';
import { numberOption } from './respond.ts';
import { acceptText } from './teacher-text.ts';
import { teacherTextAccepted } from './teacher-text-messages.ts';
import type { CommandContext, IncomingFile, Services } from './types.ts';

/** "20 líneas: 14 del Quijote y 6 de «poema.txt» (mezcla 70)." */
export function mixNote(s: Services, text: RunText, lines: number): string {
  const c = mixCounts(lines, text.mix);
  return s.t('train.mixNote', { lines, quijote: c.quijote, teacher: c.teacher, file: text.name, mix: text.mix });
}

/**
 * The teacher's text and mix for a new run, checked: `mezcla` 0–100 (default DEFAULT_MIX), the file downloaded
 * and read, `lines` within what both sources hold. Undefined once the refusal is said (nothing stored).
 */
export async function chooseTeacherText(
  ctx: CommandContext, source: { file: IncomingFile; fetch: typeof fetch } | { refusal: string }, o: { lines: number; quijoteMax: number },
): Promise<{ run: RunText; lines: string[]; note: string } | undefined> {
  const s = ctx.services;
  const t = s.t;
  const refuse = async (text: string) => void (await ctx.reply({ text, ephemeral: true }));
  if ('refusal' in source) return refuse(source.refusal);
  const mix = numberOption(ctx, 'mezcla') ?? DEFAULT_MIX;
  if (!Number.isInteger(mix) || mix < 0 || mix > 100) return refuse(t('train.badMix'));
  const got = await acceptText(s, source);
  if (!got.ok) return refuse(got.message);
  const a = got.accepted;
  const max = maxMixedLines(o.quijoteMax, a.trainLines, mix);
  if (o.lines > max) return refuse(t('train.badMixedLines', { max, mix, file: a.file.name, teacher: a.trainLines, held: a.heldLines }));
  const run: RunText = { hash: a.hash, name: a.file.name, mix, encoding: a.text.encoding };
  return { run, lines: a.text.lines, note: `${teacherTextAccepted(s, a.text, a.file.name)}\n${mixNote(s, run, o.lines)}` };
}

/** A run's stored text (DATA_DIR/classes/<class>/textos/<sha256>.txt), or undefined when it is gone or altered. */
export function storedTeacherLines(s: Services, place: Place, text: RunText): string[] | undefined {
  try {
    const lines = loadTeacherText(s.config.dataDir, place, text.hash);
    return teacherTextHash(lines) === text.hash ? lines : undefined;
  } catch {
    return undefined;
  }
}

/** The change of a perplexity in words: "bajó un 12 %" (gained) or "subió un 3 %" (lost). */
function change(s: Services, before: number, after: number): string {
  const rel = before > 0 ? Math.abs(after - before) / before : 0;
  return s.t(after <= before ? 'train.pplDown' : 'train.pplUp', { change: formatPercent(s.locale, rel) });
}

/** The results card of a run with a teacher's text: both evaluations, and what we gained and lost. */
export function teacherResultsText(s: Services, run: RunRow, result: TrainResult): string | undefined {
  const te = result.teacherEval;
  const text = run.params.text;
  if (!te || !text) return undefined;
  const f3 = (n: number) => formatNumber(s.locale, n, 3);
  const f2 = (n: number) => formatNumber(s.locale, n, 2);
  return s.t('train.doneText', {
    lines: run.params.lines,
    quijote: result.quijoteLines ?? 0,
    teacher: result.teacherLines ?? 0,
    file: text.name,
    mix: text.mix,
    lossBefore: f3(result.evalLossBefore),
    lossAfter: f3(result.evalLossAfter),
    pplBefore: f2(result.perplexityBefore),
    pplAfter: f2(result.perplexityAfter),
    evalLines: s.config.ml.evalLines,
    held: te.lines,
    textPplBefore: f2(te.perplexityBefore),
    textPplAfter: f2(te.perplexityAfter),
    textChange: change(s, te.perplexityBefore, te.perplexityAfter),
    quijoteChange: change(s, result.perplexityBefore, result.perplexityAfter),
  });
}
