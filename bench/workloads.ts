/**
 * The benchmark workloads, run through the code paths users get: `train()` from core/train/trainer.ts for
 * fine-tuning and `generate()` from core/sample/generate.ts for decoding. They mirror
 * ../shared/bench/torch_reference.py so that a ratio is one division:
 *
 *   train     ↔ `torch_reference.py bench --model DIR [--method frozen]`: batch B × T random token blocks, AdamW,
 *               dropout on; one warm-up step, then the best and the median of N timed optimizer steps.
 *   generate  ↔ `torch_reference.py generate --model DIR --tokens 160`: prompt [1..8], greedy, KV cache; the
 *               time of the 160 single-token steps after the prompt's forward pass (best of 2 rounds after a
 *               short warm-up generation; torch times one round).
 *
 * bench/ is an edge: it reads the clock (performance.now) and hands it to core as `now`.
 */
import type { GPT2 } from '../core/model/gpt2.ts';
import { createRng } from '../core/sample/rng.ts';
import { generate } from '../core/sample/generate.ts';
import { disposeLora, type LoraOptions } from '../core/train/lora.ts';
import { train, type TrainConfig } from '../core/train/trainer.ts';
import { memorySnapshot, type MemorySnapshot } from './machine.ts';

export interface TrainBenchOptions {
  method: 'full' | 'lora';
  batchSize: number;
  blockSize: number;
  /** Timed optimizer steps after the warm-up step. */
  steps: number;
  seed: number;
  lora?: LoraOptions;
}

export interface TrainBenchResult {
  kind: 'train';
  method: 'full' | 'lora';
  batch_size: number;
  block_size: number;
  steps: number;
  trainable_params: number;
  warmup_ms: number;
  step_ms: number[];
  tokens_per_second_best: number;
  tokens_per_second_median: number;
  final_loss: number;
  memory: MemorySnapshot;
}

export interface GenerateBenchOptions {
  /** New tokens timed after the prompt's forward pass (torch_reference: 160). */
  newTokens: number;
  prompt: number[];
  /** Timed generations (the best is reported; default 2). */
  rounds?: number;
}

export interface GenerateBenchResult {
  kind: 'generate';
  prompt_tokens: number;
  new_tokens: number;
  prompt_ms: number;
  decode_ms: number;
  tokens_per_second: number; // best round
  rounds_tokens_per_second: number[];
  memory: MemorySnapshot;
}

export const TORCH_PROMPT = [1, 2, 3, 4, 5, 6, 7, 8];

export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Random token blocks (seeded), as torch_reference's `torch.randint(0, V, (B, T))`. */
export function randomBlocks(n: number, blockSize: number, vocabSize: number, seed: number): number[][] {
  const rng = createRng(seed);
  return Array.from({ length: n }, () => Array.from({ length: blockSize }, () => rng.int(vocabSize)));
}

/**
 * Fine-tuning throughput through the real trainer: one epoch over (steps + 1) batches, so the first optimizer
 * step is the warm-up and the next `steps` are timed (between two progress callbacks: the step's forward,
 * backward, clipping and AdamW update, and the loss read-back).
 */
export async function trainBench(model: GPT2, o: TrainBenchOptions): Promise<TrainBenchResult> {
  const blocks = randomBlocks((o.steps + 1) * o.batchSize, o.blockSize, model.config.vocabSize, o.seed);
  const cfg: TrainConfig = {
    epochs: 1, lr: 1e-4, batchSize: o.batchSize, gradAccum: 1, warmupSteps: 0,
    weightDecay: 0.01, // torch.optim.AdamW's default, as torch_reference's bench uses it
    maxGradNorm: 1.0, seed: o.seed, method: o.method,
    lora: o.lora ?? { rank: 8, alpha: 16, dropout: 0.05, targets: ['c_attn'] },
  };
  const marks: number[] = [];
  let lastLoss = NaN;
  const out = await train(model, blocks, cfg, {
    now: () => performance.now(),
    onProgress: (p) => { marks.push(performance.now()); if (p.step > 0) lastLoss = p.loss; },
  });
  const trainable = out.lora
    ? Object.values(out.lora).reduce((s, p) => s + p.A.size + p.B.size, 0)
    : Object.values(model.weights).reduce((s, w) => s + w.size, 0);
  const memory = memorySnapshot();
  if (out.lora) disposeLora(out.lora);
  const all = marks.slice(1).map((t, i) => t - marks[i]);
  const timed = all.slice(1);
  const tokens = o.batchSize * o.blockSize;
  return {
    kind: 'train', method: o.method, batch_size: o.batchSize, block_size: o.blockSize, steps: timed.length,
    trainable_params: trainable, warmup_ms: all[0], step_ms: timed,
    tokens_per_second_best: (tokens / Math.min(...timed)) * 1000,
    tokens_per_second_median: (tokens / median(timed)) * 1000,
    final_loss: lastLoss, memory,
  };
}

/**
 * Greedy decoding throughput through generate(): asks for newTokens + 1 tokens, so the prompt's forward pass
 * yields the first and the next `newTokens` single-token steps are timed (torch_reference times exactly those).
 * A short warm-up generation runs first.
 */
export async function generateBench(model: GPT2, o: GenerateBenchOptions): Promise<GenerateBenchResult> {
  const cfg = { max_new_tokens: o.newTokens + 1, do_sample: false, eos_token_id: null };
  await generate(model, o.prompt, { ...cfg, max_new_tokens: 4 });
  let best: { prompt: number; decode: number; n: number } | null = null;
  const rates: number[] = [];
  for (let round = 0; round < (o.rounds ?? 2); round++) {
    const marks: number[] = [];
    const t0 = performance.now();
    const r = await generate(model, o.prompt, cfg, { onToken: () => { marks.push(performance.now()); } });
    const n = r.newIds.length - 1;
    if (n < 1) throw new Error(`generation stopped after ${r.newIds.length} token(s) (${r.stoppedBy})`);
    const decode = marks[marks.length - 1] - marks[0];
    rates.push((n / decode) * 1000);
    if (!best || decode / n < best.decode / best.n) best = { prompt: marks[0] - t0, decode, n };
  }
  return {
    kind: 'generate', prompt_tokens: o.prompt.length, new_tokens: best!.n, prompt_ms: best!.prompt, decode_ms: best!.decode,
    tokens_per_second: (best!.n / best!.decode) * 1000, rounds_tokens_per_second: rates, memory: memorySnapshot(),
  };
}
