import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { train } from '../commands/train.ts';
import { FakeEngine } from './helpers/fake-engine.ts';
import { commandContext, createTestRig, PLACE, settle, STUDENT, TEACHER, until } from './helpers/fake-context.ts';

async function runTrain(rig: ReturnType<typeof createTestRig>, options: Record<string, string | number | undefined>, user = TEACHER) {
  const ctx = commandContext(rig.services, rig.channel, 'train', options, user);
  await train.run(ctx);
  return ctx;
}

test('/train refuses non-teachers in Spanish, privately, without creating anything', async () => {
  const rig = createTestRig();
  const ctx = await runTrain(rig, { lines: 100 }, STUDENT);
  assert.equal(ctx.replies.length, 1);
  assert.equal(ctx.replies[0].first.ephemeral, true);
  assert.match(ctx.replies[0].first.text, /Solo el profesorado puede usar `\/train`/);
  assert.equal(rig.channel.posts.length, 0);
  assert.equal(await rig.services.store.findClass(PLACE), undefined);
  assert.equal(rig.engine.trainCalls.length, 0);
});

test('/train validates lines against engine.maxLines(), epochs and lr with clear messages', async () => {
  const rig = createTestRig({ engine: { maxLines: 300 } });
  for (const lines of [0, 301, 2.5, 'muchas', undefined]) {
    const ctx = await runTrain(rig, { lines });
    assert.deepEqual(ctx.defers, [{ ephemeral: true }], 'deferred at once');
    assert.match(ctx.replies[0].first.text, /entero entre 1 y 300/, `lines=${String(lines)}`);
    assert.equal(ctx.replies[0].first.ephemeral, true);
  }
  assert.match((await runTrain(rig, { lines: 10, epochs: 0 })).replies[0].first.text, /épocas deben ser un número entero entre 1 y 20/);
  assert.match((await runTrain(rig, { lines: 10, lr: -1 })).replies[0].first.text, /tasa de aprendizaje debe ser un número mayor que 0/);
  assert.match((await runTrain(rig, { lines: 10, lr: '0,5' })).replies[0].first.text, /menor que 0,1/);
  assert.equal(rig.engine.trainCalls.length, 0);
  assert.equal(rig.channel.posts.length, 0);
});

test('/train: defer, one throttled progress message, results with PNG and mention, then an automatic blind poll', async () => {
  const interval = 1000;
  const rig = createTestRig({ env: { PROGRESS_INTERVAL_MS: String(interval), DEFAULT_PROMPT: 'Érase una vez un colegio' }, engine: { steps: 20 } });
  rig.engine.onStep = () => rig.clock.advance(400); // each optimizer step takes 400 ms of (fake) time
  const ctx = await runTrain(rig, { lines: 5, epochs: 3, lr: 0.0005 });
  assert.equal(rig.channel.calls[0], 'defer:ephemeral', 'acknowledged before anything else');
  await rig.services.compute.idle();
  await settle();

  // The engine got the teacher's parameters and the class's own model folder.
  const run = (await rig.services.store.latestDoneRun((await rig.services.store.findClass(PLACE))!.id))!;
  assert.deepEqual(rig.engine.trainCalls.map((c) => c.params), [{ lines: 5, epochs: 3, lr: 0.0005, seed: 42 }]);
  assert.equal(rig.engine.trainCalls[0].outDir, path.join('/tmp/quijote-test-data', 'classes', 'discord-T1-C1', `run-${run.id}`));
  assert.equal(run.modelDir, rig.engine.trainCalls[0].outDir);
  assert.equal(run.teacherId, TEACHER.id);
  assert.equal(run.metrics?.perplexityAfter, Math.exp(3.1));
  assert.equal(run.lossCurve?.length, 20);

  // The private acknowledgement says the run number and queue position.
  assert.match(ctx.replies[0].first.text, new RegExp(`Entrenamiento #${run.id} aceptado: 5 líneas, 3 épocas, tasa 0,0005\\. Posición en la cola: 1\\.`));
  assert.equal(ctx.replies[0].first.ephemeral, true);

  // Exactly one progress message, edited at most once per interval, plus the final edit.
  const [progress, results, poll, meter] = rig.channel.posts;
  await until(() => results.edits.length > 0, 'the results with the loss curve (drawn on a worker thread)');
  assert.equal(rig.channel.posts.length, 4);
  assert.match(progress.first.text, /esperando turno/);
  const steps = progress.edits.slice(0, -1);
  const times = progress.editTimes.slice(0, -1);
  for (let i = 1; i < times.length; i++) assert.ok(times[i] - times[i - 1] >= interval, `edits ${i - 1}→${i} ${times[i] - times[i - 1]} ms apart`);
  const elapsed = 20 * 400;
  assert.ok(steps.length >= 2 && steps.length <= Math.floor(elapsed / interval) + 1, `${steps.length} progress edits for ${elapsed} ms`);
  assert.ok(steps.length < 20, 'fewer edits than steps');
  assert.match(steps[0].text, /Paso 0\/20/);
  const mid = steps[1].text;
  const step = Number(/Paso (\d+)\/20/.exec(mid)![1]);
  assert.match(mid, new RegExp('`[█░]{20}` ' + Math.round((step / 20) * 100) + '\\s%'));
  assert.match(mid, /pérdida \d+,\d+ · 1\.?234 tokens\/s · quedan \d+:\d\d/);
  assert.match(progress.current.text, /✅ Entrenamiento #\d+ \(5 líneas\) terminado: 20 pasos en 0:40\./);

  // Results: posted as soon as the model is saved (voting starts), then edited with eval loss and perplexity
  // before → after and the loss-curve PNG once the evaluation after training ends. The teacher is mentioned.
  assert.equal(results.first.mentionUserId, TEACHER.id);
  assert.match(results.first.text, /Ya podéis votar a ciegas/);
  assert.ok(poll.sentAt <= results.editTimes[0]!, 'the poll is out before the metrics');
  const final = results.current;
  assert.equal(final.mentionUserId, TEACHER.id);
  assert.match(final.text, /Pérdida de evaluación: 4,2 → 3,1/);
  assert.match(final.text, /Perplejidad: 66,69 → 22,2/);
  assert.ok(final.image);
  assert.deepEqual([...final.image.data.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  assert.match(final.image.alt, /de 3,9 a 2/);

  // The automatic poll uses DEFAULT_PROMPT with both models and the same seed.
  assert.match(poll.first.text, /Votación a ciegas #1.*\nComienzo: «Érase una vez un colegio»/);
  assert.deepEqual(rig.engine.storyCalls.map((c) => [c.prompt, c.modelDir]), [['Érase una vez un colegio', null], ['Érase una vez un colegio', run.modelDir]]);
  assert.equal(rig.engine.storyCalls[0].seed, rig.engine.storyCalls[1].seed);
  assert.deepEqual(poll.first.buttons?.map((b) => b.id), ['vote:1:A', 'vote:1:B', 'reveal:1']);

  // The memorization meter of the class model's story, blind: share and place, never the passage itself.
  assert.match(meter.first.text, /Medidor de memorización del cuento del modelo de la clase en la votación #1/);
  assert.match(meter.first.text, /el \d+\s%.* de la historia está dentro de frases de 3 o más palabras copiadas/);
  assert.match(meter.first.text, /Pasaje copiado más largo: \d+ palabras \(Primera parte, /);
  assert.doesNotMatch(meter.first.text, /rocín flaco|lugar de la Mancha/);
});

test('/train: a second training for the same class is refused while one is queued or running', async () => {
  const rig = createTestRig({ engine: { steps: 3 } });
  rig.engine.gate.hold('train:1');
  await runTrain(rig, { lines: 10 });
  await rig.engine.gate.reached('train:1');
  await settle(); // the job's 'started' message reaches the bot
  const second = await runTrain(rig, { lines: 20 });
  assert.match(second.replies[0].first.text, /ya tiene un entrenamiento en cola o en marcha \(#1\)/);
  rig.engine.gate.release('train:1');
  await rig.services.compute.idle();
  assert.equal(rig.engine.trainCalls.length, 1);
});

test('/train: another class training meanwhile waits in the queue and is told its position', async () => {
  const rig = createTestRig({ engine: { steps: 2 } });
  rig.engine.gate.hold('train:1');
  await runTrain(rig, { lines: 10 });
  await rig.engine.gate.reached('train:1');
  await settle(); // the job's 'started' message reaches the bot
  const other = commandContext(rig.services, rig.channel, 'train', { lines: 10 }, TEACHER, { ...PLACE, channelId: 'C2' });
  await train.run(other);
  assert.match(other.replies[0].first.text, /Posición en la cola: 1\./);
  rig.engine.gate.release('train:1');
  await rig.services.compute.idle();
  await settle();
  assert.equal(rig.engine.trainCalls.length, 2);
  assert.notEqual(rig.engine.trainCalls[0].outDir, rig.engine.trainCalls[1].outDir);
});

test('/train: a failing training is recorded as failed and the progress message says why', async () => {
  const rig = createTestRig({ engine: { steps: 5 } });
  const { QuijoteError } = await import('../core/errors.ts');
  rig.engine.failTrainAfter = { steps: 2, error: new QuijoteError('OUT_OF_MEMORY', 'OOM at step 3') };
  await runTrain(rig, { lines: 10 });
  await rig.services.compute.idle();
  await settle();
  const run = (await rig.services.store.listRuns((await rig.services.store.findClass(PLACE))!.id))[0];
  assert.equal(run.status, 'failed');
  assert.equal(run.error, 'OOM at step 3');
  const progress = rig.channel.posts[0];
  assert.match(progress.current.text, /❌ Entrenamiento #1 falló: la máquina se quedó sin memoria/);
  assert.equal(rig.channel.posts.length, 1, 'no results and no poll');
  assert.equal(rig.engine.storyCalls.length, 0);
});

test('progress rendering gives a bar proportional to step/total', async () => {
  const { progressBar } = await import('../commands/progress.ts');
  assert.equal(progressBar(0, 10), '░'.repeat(10));
  assert.equal(progressBar(0.5, 10), '█'.repeat(5) + '░'.repeat(5));
  assert.equal(progressBar(1.7, 4), '████');
  assert.equal(FakeEngine.lossAt(10, 20), 3);
});
