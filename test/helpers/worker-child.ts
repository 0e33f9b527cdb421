/**
 * A compute worker process for the district tests: the real ROLE=worker code (bot/worker.ts: Redis check, BullMQ
 * worker, model store) around a FakeEngine whose optimizer steps take FAKE_STEP_MS of blocked CPU, like a real
 * kernel. Prints one JSON line per event on stdout: ready, train-start, step, story, train-done.
 */
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../../config/index.ts';
import type { Engine } from '../../core/engine.ts';
import { startWorker } from '../../bot/worker.ts';
import { FakeEngine } from './fake-engine.ts';

const say = (o: Record<string, unknown>) => process.stdout.write(JSON.stringify({ pid: process.pid, ...o }) + '\n');
const config = loadConfig(process.env);
const stepMs = Number(process.env.FAKE_STEP_MS ?? 100);
const block = new Int32Array(new SharedArrayBuffer(4));
// FAKE_SLOW_LINES: a training of exactly that many lines takes FAKE_SLOW_STEPS steps of FAKE_SLOW_STEP_MS (long enough to act on it).
let currentStepMs = stepMs;
const fake = new FakeEngine({ steps: Number(process.env.FAKE_STEPS ?? 8), onStep: (n) => { Atomics.wait(block, 0, 0, currentStepMs); say({ event: 'step', n }); } });
const engine: Engine = {
  async train(params, outDir, options) {
    say({ event: 'train-start', outDir });
    const slow = params.lines === Number(process.env.FAKE_SLOW_LINES);
    currentStepMs = slow ? Number(process.env.FAKE_SLOW_STEP_MS ?? stepMs) : stepMs;
    fake.steps = slow ? Number(process.env.FAKE_SLOW_STEPS ?? process.env.FAKE_STEPS ?? 8) : Number(process.env.FAKE_STEPS ?? 8);
    const r = await fake.train(params, outDir, options);
    fs.mkdirSync(outDir, { recursive: true });
    fs.writeFileSync(path.join(outDir, 'adapter_config.json'), JSON.stringify({ r: 8, by: process.pid }));
    fs.writeFileSync(path.join(outDir, 'adapter_model.safetensors'), Buffer.alloc(2048, 3));
    say({ event: 'train-done', outDir });
    return r;
  },
  async story(prompt, modelDir, options) {
    say({ event: 'story', modelDir, adapter: modelDir ? fs.readFileSync(path.join(modelDir, 'adapter_config.json'), 'utf8') : null });
    return fake.story(prompt, modelDir, options);
  },
  score: (t, m, o) => fake.score(t, m, o),
  trainingLines: (n) => fake.trainingLines(n),
  maxLines: () => fake.maxLines(),
  describe: () => `fake worker ${process.pid}`,
};
const clock = { now: () => Date.now() };
const logger = { info: (m: string) => say({ event: 'log', m }), warn: (m: string) => say({ event: 'warn', m }), error: (m: string) => say({ event: 'error', m }) };
const worker = await startWorker({ config, engine, clock, logger, lockDurationMs: config.distributed.lockDurationMs, stalledIntervalMs: config.distributed.stalledIntervalMs });
say({ event: 'ready' });
process.once('SIGTERM', () => void worker.close().finally(() => process.exit(0)));
