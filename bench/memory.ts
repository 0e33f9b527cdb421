/**
 * No-growth checks: live tensors, tensor bytes, the wasm heap and RSS, sampled after each of N generations or
 * N optimizer steps, through generate() and train() as users run them. A leak shows as numTensors / numBytes
 * rising by the same amount every iteration; a plateau (after the first iterations allocate the working set)
 * is no growth.
 */
import type { GPT2 } from '../core/model/gpt2.ts';
import { generate } from '../core/sample/generate.ts';
import { disposeLora } from '../core/train/lora.ts';
import { train } from '../core/train/trainer.ts';
import { memorySnapshot, type MemorySnapshot } from './machine.ts';
import { randomBlocks } from './workloads.ts';

export interface GrowthReport {
  kind: 'memory';
  what: 'generate' | 'train';
  iterations: number;
  /** Samples at the first, 10%, 25%, 50%, 75% and last iteration. */
  samples: Array<MemorySnapshot & { iteration: number }>;
  tensors_delta: number; // live tensors, last − first sample (0 = no leak)
  bytes_delta: number; // tensor bytes, last − first sample
  wasm_heap_delta_mb: number | null; // wasm heap over the second half: last − middle sample
  rss_delta_mb: number; // RSS over the second half: last − middle sample
  tensors_after: number; // live tensors once the loop is over, minus those before it
}

function report(what: GrowthReport['what'], all: MemorySnapshot[], before: number, after: number): GrowthReport {
  const n = all.length;
  const at = (i: number) => ({ iteration: i + 1, ...all[i] });
  const q = (f: number) => Math.max(0, Math.round(n * f) - 1);
  const samples = [...new Set([0, q(0.1), q(0.25), q(0.5), q(0.75), n - 1])].map(at);
  const first = all[0], ref = all[q(0.5)], last = all[n - 1];
  const mb = (x: number) => Math.round(x * 10) / 10;
  return {
    kind: 'memory', what, iterations: n, samples,
    tensors_delta: last.num_tensors - first.num_tensors,
    bytes_delta: last.num_bytes - first.num_bytes,
    wasm_heap_delta_mb: last.wasm_heap_bytes !== null && ref.wasm_heap_bytes !== null ? mb((last.wasm_heap_bytes - ref.wasm_heap_bytes) / 2 ** 20) : null,
    rss_delta_mb: mb(last.rss_mb - ref.rss_mb),
    tensors_after: after - before,
  };
}

/** `iterations` sampled generations of `newTokens` tokens each (top-k sampling, as the bot's stories). */
export async function generationGrowth(model: GPT2, iterations: number, newTokens = 8): Promise<GrowthReport> {
  const before = memorySnapshot().num_tensors;
  const all: MemorySnapshot[] = [];
  for (let i = 0; i < iterations; i++) {
    await generate(model, [1, 2, 3], { max_new_tokens: newTokens, do_sample: true, top_k: 50, temperature: 0.9, eos_token_id: null, seed: i });
    all.push(memorySnapshot());
  }
  return report('generate', all, before, memorySnapshot().num_tensors);
}

/** One train() run of `iterations` optimizer steps (batch 2, full fine-tuning or LoRA). */
export async function trainingGrowth(model: GPT2, iterations: number, method: 'full' | 'lora' = 'full', blockSize = 32): Promise<GrowthReport> {
  const before = memorySnapshot().num_tensors;
  const all: MemorySnapshot[] = [];
  const blocks = randomBlocks(iterations * 2, blockSize, model.config.vocabSize, 7);
  const out = await train(model, blocks, {
    epochs: 1, lr: 1e-4, batchSize: 2, gradAccum: 1, warmupSteps: 0, weightDecay: 0.01, maxGradNorm: 1, seed: 7, method,
    lora: { rank: 4, alpha: 8, dropout: 0.05, targets: ['c_attn'] },
  }, { now: () => 0, onProgress: (p) => { if (p.step > 0) all.push(memorySnapshot()); } });
  if (out.lora) disposeLora(out.lora);
  return report('train', all, before, memorySnapshot().num_tensors);
}
