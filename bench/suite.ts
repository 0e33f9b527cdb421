/**
 * The named workloads of `quijote bench`, each with its torch_reference.py twin, and `runWorkload` that runs
 * one of them in the current process (backend start, model load, measurement, clean-up).
 */
import { initBackend, type BackendRequest } from '../core/backend.ts';
import { GPT2_124M } from '../core/model/config.ts';
import type { GPT2 } from '../core/model/gpt2.ts';
import { loadModelFolder } from '../core/model/load.ts';
import { disposeModel, randomModel } from '../core/model/params.ts';
import { backendRecord, memorySnapshot, type BackendRecord, type MemorySnapshot } from './machine.ts';
import { generationGrowth, trainingGrowth, type GrowthReport } from './memory.ts';
import { generateBench, trainBench, TORCH_PROMPT, type GenerateBenchResult, type TrainBenchResult } from './workloads.ts';
import { classTrain, type ClassTrainResult } from './class-train.ts';
import { twoModels, type TwoModelsResult } from './two-models.ts';

export const WORKLOAD_NAMES = ['mini-train', 'mini-generate', '124m-lora', '124m-generate', '124m-full', 'memory-generate', 'memory-train', 'class-train-124m', 'two-models-124m'] as const;
export type WorkloadName = (typeof WORKLOAD_NAMES)[number];
/** What `quijote bench` runs without --only (124m-full, class-train-124m and two-models-124m are opt-in: minutes each on a CPU). */
export const DEFAULT_WORKLOADS: WorkloadName[] = ['mini-train', 'mini-generate', '124m-lora', '124m-generate', 'memory-generate', 'memory-train'];

export interface WorkloadSpec {
  name: WorkloadName;
  backend: BackendRequest;
  /** HF folder for the mini workloads (es-novelas-mini by default). */
  modelDir: string;
  /** HF folder for the memory workloads (the tiny golden model). */
  tinyDir: string;
  steps: number;
  seed: number;
  newTokens: number;
  /** Iterations of the memory workloads. */
  iterations: number;
  /** LD_LIBRARY_PATH (from the config), for the backend's CUDA and Vulkan checks. */
  libraryPath?: string;
  /** XNNPACK threads for wasm, as the app uses them. */
  wasmThreads?: number;
  /** Sequences per optimizer step of the training workloads (torch_reference's --bs; 2 unless --batch-size). */
  batchSize?: number;
  /** WebGPU: our tiled matmul or tfjs' (WEBGPU_MATMUL). */
  webgpuMatmul?: 'tiled' | 'tfjs';
  /** class-train-124m: ../shared (the book, the mini's tokenizer), rounds, lines, and an existing 124M folder. */
  sharedDir?: string;
  rounds?: number;
  /** class-train-124m: held-out lines (the app's 200 unless set; fewer make a long --rounds run shorter). */
  evalLines?: number;
  lines?: number;
  classModelDir?: string;
}

export type WorkloadResult = (TrainBenchResult | GenerateBenchResult | GrowthReport | ClassTrainResult | TwoModelsResult) & {
  name: WorkloadName;
  model: string;
  params: number;
  backend: BackendRecord;
  load_ms: number;
  end: MemorySnapshot; // memory after the workload, model still loaded (peak_rss_mb: the process' peak)
};

/** torch_reference.py arguments for the same workload (null: no twin). */
export function torchArgs(spec: WorkloadSpec): string[] | null {
  const steps = ['--steps', String(spec.steps), ...(spec.batchSize && spec.batchSize !== 2 ? ['--bs', String(spec.batchSize)] : [])];
  switch (spec.name) {
    case 'mini-train': return ['bench', '--model', spec.modelDir, ...steps];
    case '124m-lora': return ['bench', '--model', 'gpt2-124m', '--method', 'frozen', ...steps];
    case '124m-full': return ['bench', '--model', 'gpt2-124m', ...steps];
    case 'mini-generate': return ['generate', '--model', spec.modelDir, '--tokens', String(spec.newTokens)];
    case '124m-generate': return ['generate', '--model', 'gpt2-124m', '--tokens', String(spec.newTokens)];
    case 'class-train-124m': return ['bench', '--model', 'gpt2-124m', '--method', 'frozen', '--steps', String(spec.steps)]; // batch 2 × 128, as our micro-batches
    default: return null;
  }
}

/** The figure compared with torch's (tokens/s), ours and theirs. */
export function headline(r: WorkloadResult): { ours: number; oursMedian?: number } | null {
  if (r.kind === 'train') return { ours: r.tokens_per_second_best, oursMedian: r.tokens_per_second_median };
  if (r.kind === 'generate') return { ours: r.tokens_per_second };
  if (r.kind === 'class-train') return { ours: Math.max(...r.rounds.map((x) => x.tokens_per_second)) }; // the real path's training tokens/s
  return null;
}

async function loadFor(spec: WorkloadSpec): Promise<{ model: GPT2; label: string }> {
  const trainable = spec.name === 'mini-train' || spec.name === '124m-full' || spec.name === 'memory-train';
  if (spec.name.startsWith('124m')) {
    return { model: await randomModel(GPT2_124M, { trainable, seed: spec.seed }), label: 'gpt2-124m (random weights)' };
  }
  const dir = spec.name.startsWith('memory') ? spec.tinyDir : spec.modelDir;
  return { model: (await loadModelFolder(dir, { trainable })).model, label: dir };
}

/** Runs one workload in this process. The backend is started (once per process) from spec.backend. */
export async function runWorkload(spec: WorkloadSpec): Promise<WorkloadResult> {
  const info = await initBackend({ request: spec.backend, libraryPath: spec.libraryPath, wasmThreads: spec.wasmThreads, webgpuTiledMatmul: spec.webgpuMatmul !== 'tfjs' });
  const backend = await backendRecord(info);
  if (spec.name === 'class-train-124m') {
    const r = await classTrain({ sharedDir: spec.sharedDir ?? '../shared', backend: spec.backend, wasmThreads: spec.wasmThreads, seed: spec.seed || 42, rounds: spec.rounds ?? 1, lines: spec.lines ?? 100, evalLines: spec.evalLines, modelDir: spec.classModelDir });
    return { name: spec.name, model: r.model_dir, params: 124_439_808, backend, load_ms: r.rounds[0].seconds.load * 1000, ...r, end: memorySnapshot() };
  }
  if (spec.name === 'two-models-124m') {
    const r = await twoModels(8, 8, spec.seed);
    return { name: spec.name, model: 'gpt2-124m (random weights) ×2', params: 2 * 124_439_808, backend, load_ms: r.steps[0].seconds * 1000, ...r, end: memorySnapshot() };
  }
  const t0 = performance.now();
  const { model, label } = await loadFor(spec);
  const load_ms = performance.now() - t0;
  const params = Object.values(model.weights).reduce((s, w) => s + w.size, 0);
  try {
    let r: TrainBenchResult | GenerateBenchResult | GrowthReport;
    const T = Math.min(128, model.config.nPositions);
    const batchSize = spec.batchSize ?? 2;
    switch (spec.name) {
      case 'mini-train': case '124m-full':
        r = await trainBench(model, { method: 'full', batchSize, blockSize: T, steps: spec.steps, seed: spec.seed }); break;
      case '124m-lora':
        r = await trainBench(model, { method: 'lora', batchSize, blockSize: T, steps: spec.steps, seed: spec.seed, lora: { rank: 8, alpha: 16, dropout: 0.05, targets: ['c_attn'] } }); break;
      case 'mini-generate': case '124m-generate':
        r = await generateBench(model, { newTokens: Math.min(spec.newTokens, model.config.nPositions - TORCH_PROMPT.length - 1), prompt: TORCH_PROMPT }); break;
      case 'memory-generate': r = await generationGrowth(model, spec.iterations); break;
      case 'memory-train': r = await trainingGrowth(model, spec.iterations); break;
    }
    return { name: spec.name, model: label, params, backend, load_ms, ...r, end: memorySnapshot() };
  } finally {
    disposeModel(model);
  }
}
