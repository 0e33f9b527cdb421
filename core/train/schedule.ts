/**
 * Learning-rate schedule and step counting, with Hugging Face / PyTorch semantics so that runs here match
 * /work/shared/bench/torch_reference.py and transformers' Trainer.
 */
import { QuijoteError } from '../errors.ts';

export interface LinearScheduleOptions {
  baseLr: number;
  totalSteps: number;
  warmupSteps?: number;
}

function bad(message: string): QuijoteError {
  return new QuijoteError('BAD_ARGUMENT', message, { hint: 'Check the training settings (lr, epochs, lines).' });
}

/**
 * transformers' get_linear_schedule_with_warmup. `step` is the number of optimizer steps already taken, so
 * schedule(step) is the learning rate for update number step + 1:
 *   step < warmup  -> baseLr * step / warmup   (the very first update uses lr 0 when warmup > 0, as in HF)
 *   otherwise      -> baseLr * max(0, (total - step) / (total - warmup))
 * With warmup 0 this is torch_reference.py's LambdaLR(lambda s: max(0, 1 - s / total)).
 */
export function linearSchedule(opts: LinearScheduleOptions): (step: number) => number {
  const { baseLr, totalSteps } = opts;
  const warmupSteps = opts.warmupSteps ?? 0;
  if (!(Number.isFinite(baseLr) && baseLr >= 0)) throw bad(`linearSchedule: baseLr must be a finite number >= 0, got ${String(baseLr)}.`);
  if (!(Number.isInteger(totalSteps) && totalSteps >= 1)) throw bad(`linearSchedule: totalSteps must be an integer >= 1, got ${String(totalSteps)}.`);
  if (!(Number.isInteger(warmupSteps) && warmupSteps >= 0 && warmupSteps <= totalSteps)) {
    throw bad(`linearSchedule: warmupSteps must be an integer in [0, totalSteps=${totalSteps}], got ${String(warmupSteps)}.`);
  }
  return (step: number): number => {
    if (!(Number.isInteger(step) && step >= 0)) throw bad(`linearSchedule: step must be an integer >= 0, got ${String(step)}.`);
    if (step < warmupSteps) return (baseLr * step) / warmupSteps;
    if (totalSteps === warmupSteps) return 0; // HF divides by max(1, total - warmup): (total - step) <= 0 here
    return baseLr * Math.max(0, (totalSteps - step) / (totalSteps - warmupSteps));
  };
}

/**
 * Optimizer steps in one epoch: ceil(ceil(numBlocks / batchSize) / gradAccum). A last, partial accumulation
 * group still takes a step (as in torch_reference.py).
 */
export function optimizerStepsPerEpoch(numBlocks: number, batchSize: number, gradAccum: number): number {
  if (!(Number.isInteger(numBlocks) && numBlocks >= 0)) throw bad(`optimizerStepsPerEpoch: numBlocks must be an integer >= 0, got ${String(numBlocks)}.`);
  if (!(Number.isInteger(batchSize) && batchSize >= 1)) throw bad(`optimizerStepsPerEpoch: batchSize must be an integer >= 1, got ${String(batchSize)}.`);
  if (!(Number.isInteger(gradAccum) && gradAccum >= 1)) throw bad(`optimizerStepsPerEpoch: gradAccum must be an integer >= 1, got ${String(gradAccum)}.`);
  return Math.ceil(Math.ceil(numBlocks / batchSize) / gradAccum);
}
