/**
 * Workload `two-models-124m`: evaluation with two full 124M models resident (a base and a full class model), the
 * case that used to hang on wasm (bench/README.md, «Two resident 124M models»). Each model evaluates the same
 * `blocks` blocks of 128 random tokens in batches of 8 through core/train/loss.ts' evaluateLoss (what the engine
 * runs); reported: seconds and wasm heap / live bytes / RSS after loading and after each evaluation.
 */
import { GPT2_124M } from '../core/model/config.ts';
import { disposeModel, randomModel } from '../core/model/params.ts';
import { evaluateLoss } from '../core/train/loss.ts';
import { memorySnapshot, type MemorySnapshot } from './machine.ts';
import { randomBlocks } from './workloads.ts';

export interface TwoModelsResult {
  kind: 'two-models';
  blocks: number;
  batch_size: number;
  steps: Array<{ what: string; seconds: number; loss?: number; memory: MemorySnapshot }>;
}

export async function twoModels(nBlocks = 8, batchSize = 8, seed = 0): Promise<TwoModelsResult> {
  const steps: TwoModelsResult['steps'] = [];
  const timed = async <T>(what: string, f: () => Promise<T>): Promise<T> => {
    const t = performance.now();
    const r = await f();
    steps.push({ what, seconds: (performance.now() - t) / 1000, ...(typeof r === 'number' ? { loss: r } : {}), memory: memorySnapshot() });
    return r;
  };
  const data = randomBlocks(nBlocks, 128, 8000, 11);
  const a = await timed('load base', () => randomModel(GPT2_124M, { seed }));
  await timed('evaluate base', () => evaluateLoss(a, data, { batchSize }));
  const b = await timed('load second full model', () => randomModel(GPT2_124M, { seed: seed + 1000 }));
  await timed('evaluate second model (both resident)', () => evaluateLoss(b, data, { batchSize }));
  await timed('evaluate base again (both resident)', () => evaluateLoss(a, data, { batchSize }));
  disposeModel(a); disposeModel(b);
  return { kind: 'two-models', blocks: nBlocks, batch_size: batchSize, steps };
}
