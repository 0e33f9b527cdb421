/**
 * Workload `class-train-124m`: what a class runs for `/train lines:100`, on the 124M shape, through the engine the
 * bot uses (core/pipeline/tfjs-engine.ts) with the app's defaults (config/): LoRA on wasm, batch 2 × 128,
 * accumulation 4, 2 epochs, dropout on, the real Quijote lines. A GPU-queue-like slice (one job at a time, FIFO)
 * is passed as the bot does: when the class model is saved (onSaved) the blind poll's two stories are queued and
 * run between the after-training evaluation's slices. Times, from the command:
 *   load (backend + base model), eval_before (or its cache look-up), train, save, poll_ready (both stories done),
 *   eval_after (the perplexity line), total. Round 1 starts with an empty DATA_DIR (cold eval-loss cache);
 *   further rounds (--rounds N) are the next /train of the same bot (warm cache, base already resident).
 * Each round ends with a /score of one line on both models; with --rounds 10 the report's `growth` is the
 * no-memory-growth check (RSS and wasm heap after round 10 − after round 1).
 * The base folder is bench/random-folder.ts' (random weights, the mini's tokenizer), made once under the temp dir,
 * or --class-model DIR.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../config/index.ts';
import type { GpuSlice } from '../core/engine.ts';
import { createEngine } from '../core/pipeline/tfjs-engine.ts';
import { settingsFrom } from '../bot/cli/args.ts';
import { memorySnapshot, type MemorySnapshot } from './machine.ts';
import { writeRandomModelFolder } from './random-folder.ts';

export interface ClassTrainOptions { sharedDir: string; backend: string; wasmThreads?: number; seed: number; rounds: number; lines: number; evalLines?: number; modelDir?: string }

export interface ClassTrainRound {
  round: number;
  eval_cache: 'cold' | 'warm';
  seconds: { load: number; eval_before: number; train: number; save: number; poll_ready: number; eval_after: number; total: number };
  /** poll_ready − save: the two stories, waiting at most one evaluation slice each. */
  stories_s: number;
  story_tokens: number[];
  optimizer_steps: number;
  train_tokens: number;
  tokens_per_second: number; // the real path: tokens seen / training seconds
  eval_loss_before: number;
  eval_loss_after: number;
  method: string;
  memory: MemorySnapshot; // after the round's /train, both stories and both /score
}

export interface ClassTrainResult {
  kind: 'class-train'; lines: number; model_dir: string; rounds: ClassTrainRound[];
  /** Last round − first round (with ≥ 2 rounds): live tensors, tensor bytes, wasm heap and RSS in MB. */
  growth: { tensors: number; bytes: number; wasm_heap_mb: number | null; rss_mb: number } | null;
}

export async function classTrain(o: ClassTrainOptions): Promise<ClassTrainResult> {
  const modelDir = o.modelDir ?? await writeRandomModelFolder(join(tmpdir(), `quijote-bench-124m-seed${o.seed}`), join(o.sharedDir, 'models', 'es-novelas-mini'), o.seed);
  const dataDir = mkdtempSync(join(tmpdir(), 'quijote-class-train-'));
  const config = loadConfig({ QUIJOTE_MODEL: modelDir, QUIJOTE_TEXT: join(o.sharedDir, 'data', 'pg2000-don-quijote.txt'), DATA_DIR: dataDir, QUIJOTE_BACKEND: o.backend, HF_HUB_OFFLINE: '1', ...(o.wasmThreads ? { WASM_THREADS: String(o.wasmThreads) } : {}), ...(o.evalLines ? { EVAL_LINES: String(o.evalLines) } : {}) });
  const engine = createEngine(settingsFrom(config, {}), { now: () => performance.now(), date: () => new Date() });
  let chain: Promise<unknown> = Promise.resolve();
  const slice: GpuSlice = (fn) => { const r = chain.then(fn); chain = r.catch(() => undefined); return r; }; // the bot's GPU queue: FIFO, one at a time
  const rounds: ClassTrainRound[] = [];
  try {
    for (let round = 1; round <= o.rounds; round++) {
      const t0 = performance.now();
      const s = (t: number) => (t - t0) / 1000;
      await engine.ready();
      const tLoad = performance.now();
      let tSaved = NaN, tPoll = NaN;
      let poll: Promise<void> = Promise.resolve();
      const storyTokens: number[] = [];
      const outDir = join(dataDir, 'classes', 'bench', `run-${round}`);
      const r = await engine.finetune({ lines: o.lines, seed: o.seed }, outDir, {
        slice,
        onSaved: ({ modelDir: dir }) => {
          tSaved = performance.now();
          // The blind poll: a story from the base and one from the class model, queued behind the current slice.
          poll = Promise.all([engine.story(config.defaultPrompt, null, { slice, seed: o.seed }), engine.story(config.defaultPrompt, dir, { slice, seed: o.seed })])
            .then((st) => { tPoll = performance.now(); storyTokens.push(...st.map((x) => x.newTokens)); });
        },
      });
      const tDone = performance.now();
      await poll;
      // The class then asks /score of a line (base and class model), as in the bot.
      const line = 'En un lugar de la Mancha, de cuyo nombre no quiero acordarme, no ha mucho tiempo que vivía un hidalgo';
      await Promise.all([engine.score(line, null, { slice }), engine.score(line, outDir, { slice })]);
      const p = r.phases;
      rounds.push({
        round, eval_cache: p.evalBeforeCached ? 'warm' : 'cold',
        seconds: { load: s(tLoad), eval_before: p.evalBefore, train: p.train, save: p.save, poll_ready: s(tPoll), eval_after: p.evalAfter, total: s(Math.max(tDone, tPoll)) },
        stories_s: (tPoll - tSaved) / 1000, story_tokens: storyTokens,
        optimizer_steps: r.optimizerSteps, train_tokens: r.tokensSeen, tokens_per_second: r.tokensPerSecond,
        eval_loss_before: r.evalLossBefore, eval_loss_after: r.evalLossAfter, method: r.method, memory: memorySnapshot(),
      });
      process.stderr.write(`  ronda ${round}: ${JSON.stringify(rounds.at(-1)!.seconds)}\n`);
    }
  } finally {
    engine.dispose();
    rmSync(dataDir, { recursive: true, force: true });
  }
  const [a, b] = [rounds[0]?.memory, rounds.at(-1)?.memory];
  const growth = rounds.length >= 2 && a && b ? {
    tensors: b.num_tensors - a.num_tensors, bytes: b.num_bytes - a.num_bytes, rss_mb: Math.round((b.rss_mb - a.rss_mb) * 10) / 10,
    wasm_heap_mb: a.wasm_heap_bytes !== null && b.wasm_heap_bytes !== null ? Math.round(((b.wasm_heap_bytes - a.wasm_heap_bytes) / 2 ** 20) * 10) / 10 : null,
  } : null;
  return { kind: 'class-train', lines: o.lines, model_dir: modelDir, rounds, growth };
}
