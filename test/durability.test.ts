/**
 * Durability: a full disk while saving a model (at each file), KEEP_RUNS pruning, out-of-memory mapping, no tensor
 * leak from a failed optimizer step, SQLite WAL + synchronous=NORMAL (kill -9 loses nothing acknowledged) and
 * `quijote backup`.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import Database from 'better-sqlite3';
import { train as trainCommand } from '../commands/train.ts';
import { initBackend } from '../core/backend.ts';
import { isQuijoteError, QuijoteError } from '../core/errors.ts';
import { readStateDict } from '../core/model/checkpoint.ts';
import { parseGPT2Config } from '../core/model/config.ts';
import { buildModel, disposeModel } from '../core/model/params.ts';
import { isOutOfMemory, mapOutOfMemory } from '../core/oom.ts';
import { pruneRunFolders } from '../core/store/prune.ts';
import { classDir, runModelDir } from '../core/store/paths.ts';
import { openStore } from '../core/store/store.ts';
import { SqliteAsyncStore } from '../core/store/sqlite-async.ts';
import { AdamW } from '../core/train/adamw.ts';
import { DEFAULT_LORA } from '../core/train/lora.ts';
import { saveFineTuned, type SaveFiles } from '../core/train/save.ts';
import { train, type TrainConfig } from '../core/train/trainer.ts';
import { commandContext, createTestRig, PLACE, settle } from './helpers/fake-context.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(here, '..');
const FIXTURE = path.join(here, 'fixtures', 'gpt2-tiny-golden');
const configJson = JSON.parse(readFileSync(path.join(FIXTURE, 'config.json'), 'utf8'));
const enospc = (where: string) => Object.assign(new Error(`ENOSPC: no space left on device, write '${where}'`), { code: 'ENOSPC', errno: -28 });
const tmp = (p: string) => mkdtempSync(path.join(os.tmpdir(), p));

test('disk full at any file of a model save: NO_SPACE in Spanish and the partial run folder is removed', async () => {
  await initBackend({ request: 'wasm' });
  const model = buildModel(parseGPT2Config(configJson, 'config.json'), await readStateDict(FIXTURE), { trainable: false });
  const root = tmp('quijote-enospc-');
  try {
    const stages: Array<[string, Partial<SaveFiles>]> = [
      ['weights', { writeTensors: async (p) => { writeFileSync(p, 'partial'); throw enospc(p); } }],
      ['config', { writeFile: async (p, d) => { if (p.endsWith('config.json') && !p.endsWith('generation_config.json')) throw enospc(p); writeFileSync(p, d); } }],
      ['tokenizer', { copyFile: async (a) => { throw enospc(a); } }],
      ['summary', { writeFile: async (p, d) => { if (p.endsWith('training_summary.json')) throw enospc(p); writeFileSync(p, d); } }],
    ];
    for (const [stage, files] of stages) {
      const outDir = path.join(root, `run-${stage}`);
      await assert.rejects(
        saveFineTuned({ outDir, model, lora: null, baseDir: FIXTURE, baseModelName: 'tiny', configJson, generationConfig: {}, summary: {}, files }),
        (e: unknown) => {
          assert.ok(isQuijoteError(e, 'NO_SPACE'), `${stage}: ${String(e)}`);
          assert.match((e as Error).message, /No queda espacio en el disco para guardar el modelo .*ENOSPC.*se borró la copia a medias\. Libera espacio/);
          return true;
        },
      );
      assert.equal(existsSync(outDir), false, `${stage}: partial folder removed`);
    }
    // Another failure is passed on unchanged, and the folder still goes.
    const other = path.join(root, 'run-eio');
    await assert.rejects(saveFineTuned({ outDir: other, model, lora: null, baseDir: FIXTURE, baseModelName: 'tiny', configJson, generationConfig: {}, summary: {}, files: { copyFile: async () => { throw Object.assign(new Error('EIO'), { code: 'EIO' }); } } }), /EIO/);
    assert.equal(existsSync(other), false);
  } finally {
    disposeModel(model);
    rmSync(root, { recursive: true, force: true });
  }
});

test('/train that fails with a full disk: the channel is told in Spanish and the previous class model stays active', async () => {
  const rig = createTestRig({ engine: { steps: 1 } });
  await trainCommand.run(commandContext(rig.services, rig.channel, 'train', { lines: 5 }));
  await rig.services.compute.idle();
  await settle();
  const cls = (await rig.services.store.findClass(PLACE))!;
  const previous = (await rig.services.store.latestDoneRun(cls.id))!;
  rig.engine.failTrainAfter = { steps: 0, error: new QuijoteError('NO_SPACE', 'No queda espacio en el disco (ENOSPC).') };
  await trainCommand.run(commandContext(rig.services, rig.channel, 'train', { lines: 6 }));
  await rig.services.compute.idle();
  await settle();
  const progress = rig.channel.find((t) => t.startsWith('❌ Entrenamiento #2'))!;
  assert.match(progress.current.text, /^❌ Entrenamiento #2 falló: el disco del servidor está lleno, así que no pude guardar el modelo\. El modelo anterior de la clase sigue activo/);
  assert.equal((await rig.services.store.getRun(2))!.status, 'failed');
  assert.equal((await rig.services.store.latestDoneRun(cls.id))!.id, previous.id);
});

test('a failed optimizer step leaks no tensors (tf.memory) and out of memory becomes OUT_OF_MEMORY with advice', async () => {
  await initBackend({ request: 'wasm' });
  const model = buildModel(parseGPT2Config(configJson, 'config.json'), await readStateDict(FIXTURE), { trainable: true });
  const ids = [5, 9, 13, 2, 7, 11, 3, 8, 1, 4, 6, 10, 12, 14, 15, 16];
  const blocks = Array.from({ length: 8 }, (_, i) => ids.map((x) => (x * (i + 3)) % 90));
  const cfg: TrainConfig = { epochs: 1, lr: 1e-3, batchSize: 2, gradAccum: 2, warmupSteps: 0, weightDecay: 0, maxGradNorm: 1, seed: 1, method: 'full', lora: DEFAULT_LORA };
  const original = AdamW.prototype.step;
  let calls = 0;
  AdamW.prototype.step = function (this: AdamW, ...args: Parameters<AdamW['step']>) {
    if (++calls === 2) throw new Error('Array buffer allocation failed');
    return original.apply(this, args);
  };
  try {
    const before = tf.memory().numTensors;
    await assert.rejects(train(model, blocks, cfg, { now: () => Date.now() }), (e: unknown) => isQuijoteError(e, 'OUT_OF_MEMORY'));
    assert.equal(calls, 2);
    assert.equal(tf.memory().numTensors, before, 'the failed step disposed its gradients, losses and clip factors');
  } finally {
    AdamW.prototype.step = original;
    disposeModel(model);
  }
  // The same mapping for loading, evaluation and generation, with the notebook's advice for each.
  for (const [stage, advice] of [['loading', /modelo más pequeño/], ['evaluation', /BLOCK_SIZE a 64/], ['generation', /MAX_NEW_TOKENS/]] as const) {
    await assert.rejects(mapOutOfMemory(stage, async () => { throw new Error('memory access out of bounds'); }), (e: unknown) => {
      assert.ok(isQuijoteError(e, 'OUT_OF_MEMORY'));
      assert.match((e as Error).message, advice);
      return true;
    });
  }
  assert.equal(isOutOfMemory(new RangeError('Array buffer allocation failed')), true);
  assert.equal(isOutOfMemory(new Error('ENOENT')), false);
  await assert.rejects(mapOutOfMemory('generation', async () => { throw new Error('ENOENT'); }), /ENOENT/);
});

test('KEEP_RUNS: the newest N finished runs plus the active one stay; failed and older folders go; running and foreign ones stay', async () => {
  const dataDir = tmp('quijote-prune-');
  try {
    let t = 1000;
    const store = openStore({ dataDir, clock: { now: () => t++ } });
    const cls = store.ensureClass(PLACE);
    const mk = (status: 'done' | 'failed' | 'running') => {
      const run = store.createRun({ classId: cls.id, params: { lines: 5, epochs: 1, lr: 1e-4 }, teacherId: 'p' });
      const dir = runModelDir(dataDir, cls, run.id);
      mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, 'model.safetensors'), 'x');
      if (status === 'done') store.completeRun(run.id, { metrics: { method: 'full', evalLossBefore: 1, evalLossAfter: 1, perplexityBefore: 1, perplexityAfter: 1, optimizerSteps: 1, seconds: 1 }, lossCurve: [], modelDir: dir });
      else if (status === 'failed') store.endRun(run.id, 'failed', 'x');
      else store.markRunRunning(run.id);
      return run.id;
    };
    const ids = [mk('done'), mk('done'), mk('failed'), mk('done'), mk('done'), mk('done'), mk('running')];
    mkdirSync(path.join(classDir(dataDir, cls), 'notas'), { recursive: true });
    const res = await pruneRunFolders(new SqliteAsyncStore(store), dataDir, cls, 2);
    const left = readdirSync(classDir(dataDir, cls)).sort();
    assert.deepEqual(left, ['notas', `run-${ids[4]}`, `run-${ids[5]}`, `run-${ids[6]}`].sort());
    assert.equal(res.removed.length, 4);
    assert.equal(store.latestDoneRun(cls.id)!.id, ids[5]);
    // KEEP_RUNS=0 still keeps the active model.
    await pruneRunFolders(new SqliteAsyncStore(store), dataDir, cls, 0);
    assert.deepEqual(readdirSync(classDir(dataDir, cls)).sort(), ['notas', `run-${ids[5]}`, `run-${ids[6]}`].sort());
    store.close();
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('SQLite: WAL + synchronous=NORMAL; a kill -9 loses no acknowledged vote', async () => {
  const dataDir = tmp('quijote-wal-');
  try {
    const store = openStore({ dataDir, clock: { now: () => Date.now() } });
    assert.deepEqual(store.durability(), { journalMode: 'wal', synchronous: 1 }); // 1 = NORMAL
    const cls = store.ensureClass(PLACE);
    const run = store.createRun({ classId: cls.id, params: { lines: 5, epochs: 1, lr: 1e-4 }, teacherId: 'p' });
    const a = store.createStory({ classId: cls.id, runId: run.id, model: 'base', prompt: 'p', text: 'a', seed: 1 });
    const b = store.createStory({ classId: cls.id, runId: run.id, model: 'finetuned', prompt: 'p', text: 'b', seed: 1 });
    const poll = store.createPoll({ classId: cls.id, runId: run.id, prompt: 'p', storyAId: a.id, storyBId: b.id, finetunedChoice: 'A', createdBy: 'p' });
    store.setPollMessage(poll.id, 'c', 'm');
    store.close();

    const child = spawn(process.execPath, ['--import', 'tsx', path.join(here, 'helpers', 'vote-writer.ts'), dataDir, String(poll.id)], { cwd: ROOT });
    let acked = -1;
    let buf = '';
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        buf += d.toString();
        const lines = buf.split('\n');
        buf = lines.pop()!;
        for (const l of lines) acked = Number(/^acked (\d+)$/.exec(l)?.[1] ?? acked);
        if (acked >= 300) {
          child.kill('SIGKILL');
          resolve();
        }
      });
      child.on('exit', (code, sig) => (sig === 'SIGKILL' ? resolve() : reject(new Error(`writer exited ${code}`))));
    });
    await new Promise((r) => child.once('close', r));
    const reopened = openStore({ dataDir, clock: { now: () => Date.now() } });
    const total = reopened.tally(poll.id).total;
    assert.ok(total >= acked + 1, `${total} votes on disk, ${acked + 1} acknowledged before kill -9`);
    reopened.close();
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('quijote backup: an online copy of the store that opens and holds every vote', () => {
  const dataDir = tmp('quijote-backup-');
  try {
    const store = openStore({ dataDir, clock: { now: () => Date.now() } });
    const cls = store.ensureClass(PLACE);
    const run = store.createRun({ classId: cls.id, params: { lines: 5, epochs: 1, lr: 1e-4 }, teacherId: 'p' });
    const a = store.createStory({ classId: cls.id, runId: run.id, model: 'base', prompt: 'p', text: 'a', seed: 1 });
    const b = store.createStory({ classId: cls.id, runId: run.id, model: 'finetuned', prompt: 'p', text: 'b', seed: 1 });
    const poll = store.createPoll({ classId: cls.id, runId: run.id, prompt: 'p', storyAId: a.id, storyBId: b.id, finetunedChoice: 'A', createdBy: 'p' });
    store.setPollMessage(poll.id, 'c', 'm');
    for (let i = 0; i < 40; i++) store.castVote(poll.id, `u${i}`, i % 2 ? 'A' : 'B');
    // The bot keeps its connection open (WAL not checkpointed) while the CLI copies.
    const out = path.join(dataDir, 'copia.sqlite');
    const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/quijote.js'), 'backup', '--out', out, '--json'], {
      cwd: ROOT, env: { ...process.env, DATA_DIR: dataDir }, encoding: 'utf8', timeout: 60_000,
    });
    assert.equal(r.status, 0, r.stderr);
    const res = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    assert.equal(res.backup, out);
    assert.equal(res.votes, 40);
    assert.equal(res.polls, 1);
    const copy = new Database(out, { readonly: true });
    assert.equal((copy.prepare('SELECT COUNT(*) AS n FROM votes').get() as { n: number }).n, 40);
    copy.close();
    // Refuses to overwrite, says where.
    const again = spawnSync(process.execPath, [path.join(ROOT, 'bin/quijote.js'), 'backup', '--out', out], { cwd: ROOT, env: { ...process.env, DATA_DIR: dataDir }, encoding: 'utf8', timeout: 60_000 });
    assert.notEqual(again.status, 0);
    assert.match(again.stderr, /ya existe; no la sobrescribo/);
    store.close();
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('config: KEEP_RUNS, POLL_LIVE_SPLIT, QUEUE_PER_USER and QUEUE_MAX have defaults and say what is wrong', async () => {
  const { loadConfig } = await import('../config/index.ts');
  const d = loadConfig({});
  assert.equal(d.keepRuns, 3);
  assert.equal(d.polls.liveSplit, false);
  assert.deepEqual(d.queue, { perUser: 2, max: 40 });
  const set = loadConfig({ KEEP_RUNS: '0', POLL_LIVE_SPLIT: 'sí', QUEUE_PER_USER: '1', QUEUE_MAX: '10' });
  assert.equal(set.keepRuns, 0);
  assert.equal(set.polls.liveSplit, true);
  assert.deepEqual(set.queue, { perUser: 1, max: 10 });
  assert.throws(() => loadConfig({ KEEP_RUNS: '-1', POLL_LIVE_SPLIT: 'quizá', QUEUE_MAX: '0' }), (e: Error) =>
    /KEEP_RUNS/.test(e.message) && /POLL_LIVE_SPLIT/.test(e.message) && /QUEUE_MAX/.test(e.message));
});
