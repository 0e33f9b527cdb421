/**
 * The dataset contract (same as `torch_reference.py finetune`): train on the FIRST `n` lines, evaluate on the
 * LAST `evalLines` lines, never overlapping; each set is joined with "\n", tokenized, and cut into blocks of
 * `blockSize` tokens, dropping the remainder (Hugging Face `group_texts`).
 */
import { QuijoteError } from '../errors.ts';

export const DEFAULT_EVAL_LINES = 200;

function checkPositiveInt(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 1) {
    throw new QuijoteError('BAD_ARGUMENT', `\`${name}\` debe ser un entero positivo; recibido: ${String(v)}.`);
  }
}

/** Train/eval split of the body lines. `maxLines` is the largest valid `n`. */
export function selectLines(
  lines: string[],
  n: number,
  evalLines: number = DEFAULT_EVAL_LINES,
): { train: string[]; eval: string[]; maxLines: number } {
  checkPositiveInt('evalLines', evalLines);
  const maxLines = lines.length - evalLines;
  if (maxLines < 1) {
    throw new QuijoteError(
      'BAD_LINES',
      `El texto tiene ${lines.length} líneas, no basta para ${evalLines} líneas de evaluación y al menos 1 de entrenamiento.`,
      { hint: 'Usa el texto completo del Quijote o revisa START_AT.' },
    );
  }
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > maxLines) {
    throw new QuijoteError(
      'BAD_LINES',
      `\`lines\` debe ser un entero entre 1 y ${maxLines} (las últimas ${evalLines} líneas son el conjunto de evaluación); recibido: ${String(n)}`,
    );
  }
  return { train: lines.slice(0, n), eval: lines.slice(lines.length - evalLines), maxLines };
}

/** Consecutive blocks of `blockSize` ids; the incomplete tail is dropped. */
export function groupTexts(ids: number[], blockSize: number): number[][] {
  checkPositiveInt('blockSize', blockSize);
  const blocks: number[][] = [];
  const total = ids.length - (ids.length % blockSize);
  for (let i = 0; i < total; i += blockSize) blocks.push(ids.slice(i, i + blockSize));
  return blocks;
}

/**
 * Lines → token blocks for both sets. Throws BAD_LINES when the training text is shorter than one block
 * (nothing to train on) and BAD_ARGUMENT when the evaluation text is.
 */
export function buildDataset(
  lines: string[],
  opts: { n: number; evalLines?: number; blockSize: number; encode: (t: string) => number[] },
): { trainLines: string[]; evalLines: string[]; trainBlocks: number[][]; evalBlocks: number[][] } {
  const evalCount = opts.evalLines ?? DEFAULT_EVAL_LINES;
  const { train, eval: evalSet } = selectLines(lines, opts.n, evalCount);
  checkPositiveInt('blockSize', opts.blockSize);
  const trainIds = opts.encode(train.join('\n'));
  const trainBlocks = groupTexts(trainIds, opts.blockSize);
  if (trainBlocks.length === 0) {
    throw new QuijoteError(
      'BAD_LINES',
      `Con ${opts.n} línea(s) solo hay ${trainIds.length} tokens, menos que un bloque de ${opts.blockSize}: no hay nada que entrenar.`,
      { hint: 'Elige más líneas o un BLOCK_SIZE menor.' },
    );
  }
  const evalIds = opts.encode(evalSet.join('\n'));
  const evalBlocks = groupTexts(evalIds, opts.blockSize);
  if (evalBlocks.length === 0) {
    throw new QuijoteError(
      'BAD_ARGUMENT',
      `Las ${evalCount} líneas de evaluación dan ${evalIds.length} tokens, menos que un bloque de ${opts.blockSize}.`,
      { hint: 'Sube EVAL_LINES o baja BLOCK_SIZE.' },
    );
  }
  return { trainLines: train, evalLines: evalSet, trainBlocks, evalBlocks };
}
