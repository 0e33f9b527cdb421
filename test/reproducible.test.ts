import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createServices } from '../bot/services.ts';
import { train } from '../commands/train.ts';
import { loadConfig } from '../config/index.ts';
import { createLocalCompute } from '../core/jobs/local-transport.ts';
import { createEngine } from '../core/pipeline/tfjs-engine.ts';
import { createRng } from '../core/sample/rng.ts';
import { openSqliteAsyncStore } from '../core/store/sqlite-async.ts';
import { commandContext, createTestRig, FakeChannel, ManualClock, PLACE, RecordingLogger, settle, until } from './helpers/fake-context.ts';
import { e2eEnv, missingBook, ML_TIMEOUT_MS, tmpDataDir } from './helpers/e2e.ts';

test('every results card lists the exact settings and seed; /train repetir:#id reuses them exactly', async () => {
  const rig = createTestRig({ engine: { steps: 2 } });
  await train.run(commandContext(rig.services, rig.channel, 'train', { lines: 5, epochs: 2, lr: 0.001 }));
  await rig.services.compute.idle();
  await until(() => rig.channel.find((x) => x.includes('Ajustes exactos de #1')) !== undefined, 'the results card');
  const card = rig.channel.find((x) => x.includes('Ajustes exactos de #1'))!.current.text;
  assert.match(card, /Ajustes exactos de #1: lines 5 · epochs 2 · lr 0,001 · seed 42 · full · TRAIN_BS 2 × GRAD_ACCUM 4 · BLOCK_SIZE 128\. Para repetirlo: `\/train repetir:#1`\./);

  const again = commandContext(rig.services, rig.channel, 'train', { repetir: '#1' });
  await train.run(again);
  await rig.services.compute.idle();
  await settle();
  const store = rig.services.store;
  const [first, second] = await store.listRuns((await store.findClass(PLACE))!.id);
  assert.equal(second.id, 2);
  assert.deepEqual(second.params, first.params);
  assert.equal(second.status, 'done');
  assert.deepEqual(rig.engine.trainCalls[1].params, rig.engine.trainCalls[0].params);
  assert.match(again.replies.at(-1)!.first.text, /Entrenamiento #2 aceptado: 5 líneas, 2 épocas, tasa 0,001/);
});

test('/train repetir refuses an unknown run, a run of another class, and extra settings', async () => {
  const rig = createTestRig({ engine: { steps: 2 } });
  await train.run(commandContext(rig.services, rig.channel, 'train', { lines: 5 }));
  await rig.services.compute.idle();
  await settle();
  const cases: Array<[Record<string, string | number>, RegExp, typeof PLACE]> = [
    [{ repetir: '#99' }, /No encuentro el entrenamiento #99 en esta clase/, PLACE],
    [{ repetir: 'ayer' }, /No encuentro el entrenamiento ayer/, PLACE],
    [{ repetir: '1' }, /No encuentro el entrenamiento 1 en esta clase/, { ...PLACE, channelId: 'C2' }],
    [{ repetir: '#1', lines: 50 }, /`repetir` usa exactamente los ajustes de #1; quita `lines`/, PLACE],
  ];
  for (const [opts, pattern, place] of cases) {
    const ctx = commandContext(rig.services, rig.channel, 'train', opts, undefined, place);
    await train.run(ctx);
    assert.match(ctx.replies.at(-1)!.first.text, pattern);
  }
  assert.equal(rig.engine.trainCalls.length, 1);
});

test('a repeated run reproduces the first run\'s eval loss exactly on the tiny model (same backend)', { skip: missingBook, timeout: 4 * ML_TIMEOUT_MS }, async () => {
  const tmp = tmpDataDir();
  try {
    const config = loadConfig({ ...e2eEnv(tmp.dir, {}), WASM_THREADS: '1' });
    const clock = new ManualClock();
    const engine = createEngine(config, { now: () => Date.now() });
    const store = openSqliteAsyncStore({ dataDir: ':memory:', clock });
    const compute = createLocalCompute(engine, clock);
    const services = createServices({ config, compute, text: engine, store, clock, random: createRng(3), logger: new RecordingLogger() });
    const channel = new FakeChannel(clock);
    await train.run(commandContext(services, channel, 'train', { lines: 20 }));
    await compute.idle();
    await train.run(commandContext(services, channel, 'train', { repetir: '#1' }));
    await compute.idle();
    const runs = await store.listRuns((await store.findClass(PLACE))!.id);
    assert.deepEqual(runs.map((r) => r.status).slice(0, 2), ['done', 'done']);
    const [a, b] = runs;
    assert.deepEqual(b.params, a.params);
    assert.equal(b.metrics!.evalLossAfter, a.metrics!.evalLossAfter);
    assert.equal(b.metrics!.evalLossBefore, a.metrics!.evalLossBefore);
    assert.deepEqual(b.lossCurve, a.lossCurve);
    assert.ok(a.metrics!.evalLossAfter < a.metrics!.evalLossBefore, 'the run trained');
    await settle(20);
    engine.dispose();
  } finally {
    tmp.remove();
  }
});
