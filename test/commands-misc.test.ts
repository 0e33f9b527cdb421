import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cancel } from '../commands/cancel.ts';
import { buttons, commands, localizedCommands } from '../commands/index.ts';
import { catalogue, placeholdersOf, t, type MessageKey } from '../commands/messages.ts';
import { score } from '../commands/score.ts';
import { status } from '../commands/status.ts';
import { story } from '../commands/story.ts';
import { train } from '../commands/train.ts';
import { isQuijoteError } from '../core/errors.ts';
import { commandContext, createTestRig, PLACE, settle, STUDENT, STUDENT2, TEACHER, type TestRig } from './helpers/fake-context.ts';

async function trainedRig(): Promise<TestRig> {
  const rig = createTestRig({ engine: { steps: 2 } });
  await train.run(commandContext(rig.services, rig.channel, 'train', { lines: 5 }));
  await rig.services.compute.idle();
  await settle();
  return rig;
}

test('the command list is explicit and complete; every command and option has a Spanish description', () => {
  assert.deepEqual(commands.map((c) => c.name), ['train', 'story', 'reveal', 'status', 'cancel', 'score', 'results', 'palabras', 'siguiente', 'atencion', 'sweep', 'usar', 'help']);
  assert.deepEqual(buttons.map((b) => b.prefix), ['vote', 'reveal', 'words', 'next', 'film', 'frame']);
  assert.deepEqual(commands.filter((c) => c.teacherOnly).map((c) => c.name), ['train', 'reveal', 'sweep', 'usar']);
  for (const c of commands) {
    assert.equal(c.description, t('es', `cmd.${c.name}.description` as MessageKey & `cmd.${string}.description`));
    for (const o of c.options) assert.ok(o.description.length > 0 && o.description.length <= 100, `${c.name}.${o.name}`);
  }
  assert.deepEqual(commands.find((c) => c.name === 'train')!.options.map((o) => [o.name, o.type, o.required ?? false]), [
    ['lines', 'integer', false], ['epochs', 'integer', false], ['lr', 'number', false], ['repetir', 'string', false], ['archivo', 'attachment', false], ['texto', 'string', false], ['mezcla', 'integer', false],
  ]);
  const en = localizedCommands('en');
  assert.equal(en.find((c) => c.name === 'score')!.description, catalogue.en['cmd.score.description']);
  assert.equal(en.find((c) => c.name === 'train')!.options[0].description, catalogue.en['cmd.train.opt.lines']);
  assert.equal(en[0].run, commands[0].run);
  assert.equal(localizedCommands('es'), commands);
});

test('the catalogue: English has every Spanish key with the same placeholders; t() fills them', () => {
  const esKeys = Object.keys(catalogue.es).sort();
  assert.deepEqual(Object.keys(catalogue.en).sort(), esKeys);
  for (const k of esKeys as MessageKey[]) {
    assert.deepEqual(placeholdersOf(catalogue.en[k]), placeholdersOf(catalogue.es[k]), `placeholders of ${k}`);
  }
  assert.equal(t('es', 'queue.position', { position: 3 }), 'Posición en la cola: 3.');
  assert.equal(t('en', 'queue.position', { position: 3 }), 'Position in queue: 3.');
  assert.equal(t('es', 'poll.reveal'), 'Revelar');
});

test('/status: queue length, the running job, and the class model (lines, date, perplexity)', async () => {
  const rig = createTestRig({ engine: { steps: 3 } });
  let ctx = commandContext(rig.services, rig.channel, 'status', {}, STUDENT);
  await status.run(ctx);
  assert.match(ctx.replies[0].first.text, /Trabajos esperando: 0\.\nAhora mismo no hay nada en marcha\.\nEsta clase aún no tiene modelo afinado/);
  assert.match(ctx.replies[0].first.text, /Motor: fake · test-engine/);

  rig.engine.gate.hold('train:2');
  await train.run(commandContext(rig.services, rig.channel, 'train', { lines: 7 }));
  await rig.engine.gate.reached('train:2');
  await settle(); // the job's 'started' message reaches the bot
  await train.run(commandContext(rig.services, rig.channel, 'train', { lines: 9 }, TEACHER, { ...PLACE, channelId: 'C2' }));
  ctx = commandContext(rig.services, rig.channel, 'status', {}, STUDENT);
  await status.run(ctx);
  assert.match(ctx.replies[0].first.text, /Trabajos esperando: 1\.\nEn marcha: #1 entrenamiento de Profe Ana \(7 líneas\)\./);

  rig.clock.time = Date.UTC(2025, 2, 3, 14, 5);
  rig.engine.gate.release('train:2');
  await rig.services.compute.idle();
  await settle();
  ctx = commandContext(rig.services, rig.channel, 'status', {}, STUDENT);
  await status.run(ctx);
  assert.match(ctx.replies[0].first.text, /Modelo de la clase: afinado con 7 líneas \(2 épocas\) el 2025-03-03 14:05 UTC; perplejidad 66,69 → 22,2\./);
});

test('/cancel: owners cancel their own queued job; others cannot; teachers cancel the class running training', async () => {
  const rig = await trainedRig();
  const { engine, services } = rig;
  engine.gate.hold('story:base');
  const first = story.run(commandContext(services, rig.channel, 'story', { prompt: 'Uno' }, STUDENT2));
  await engine.gate.reached('story:base');
  await settle(); // the job's 'started' message reaches the bot
  const secondCtx = commandContext(services, rig.channel, 'story', { prompt: 'Dos' }, STUDENT);
  const second = story.run(secondCtx);
  await settle();
  assert.match(secondCtx.replies[0].first.text, /Posición en la cola: 1\./);

  // Someone without jobs cancels nothing.
  const stranger = commandContext(services, rig.channel, 'cancel', {}, { id: 'x', displayName: 'X', isTeacher: false });
  await cancel.run(stranger);
  assert.match(stranger.replies[0].first.text, /No tienes trabajos en cola ni en marcha/);

  const mine = commandContext(services, rig.channel, 'cancel', {}, STUDENT);
  await cancel.run(mine);
  assert.match(mine.replies[0].first.text, /Cancelado: #\d+ historias de Luis \(Dos\)\./);
  await second;
  assert.match(secondCtx.replies.at(-1)!.first.text, /No pude completar `\/story`: el trabajo se canceló\./);
  await settle(); // the cancel message reaches compute
  engine.gate.release('story:base');
  await first;
  assert.equal(engine.storyCalls.filter((c) => c.prompt === 'Dos').length, 0, 'the cancelled job never ran');

  // A running training: the teacher cancels it; it stops at the next step, the run is 'cancelled'.
  engine.steps = 5;
  engine.gate.hold('train:2');
  await train.run(commandContext(services, rig.channel, 'train', { lines: 6 }));
  await engine.gate.reached('train:2');
  await settle(); // the job's 'started' message reaches the bot
  const progress = rig.channel.posts.filter((m) => /Entrenamiento #2/.test(m.first.text))[0];
  const byTeacher = commandContext(services, rig.channel, 'cancel', {}, TEACHER);
  await cancel.run(byTeacher);
  assert.match(byTeacher.replies[0].first.text, /Cancelado: #\d+ entrenamiento de Profe Ana \(6 líneas\)\.\nLo que estaba en marcha se detendrá/);
  engine.gate.release('train:2');
  await services.compute.idle();
  await settle();
  const run = (await services.store.getRun(2))!;
  assert.equal(run.status, 'cancelled');
  assert.match(progress.current.text, /🛑 Entrenamiento #2 cancelado\./);
  assert.ok(!engine.events.includes('train:3'), 'the cancelled training stopped at the step boundary after step 2');
  assert.equal((await services.store.latestDoneRun(run.classId))!.id, 1, 'the class keeps its previous model');
});

test('/cancel of a training still waiting in the queue marks its run cancelled', async () => {
  const rig = createTestRig({ engine: { steps: 2 } });
  rig.engine.gate.hold('train:1');
  await train.run(commandContext(rig.services, rig.channel, 'train', { lines: 5 }, TEACHER, { ...PLACE, channelId: 'A' }));
  await rig.engine.gate.reached('train:1');
  await settle(); // the job's 'started' message reaches the bot
  await train.run(commandContext(rig.services, rig.channel, 'train', { lines: 5 }));
  const ctx = commandContext(rig.services, rig.channel, 'cancel', {}, TEACHER);
  await cancel.run(ctx);
  assert.match(ctx.replies[0].first.text, /Cancelado: #2 entrenamiento/);
  await settle();
  const cls = (await rig.services.store.findClass(PLACE))!;
  assert.equal((await rig.services.store.listRuns(cls.id))[0].status, 'cancelled');
  assert.match(rig.channel.posts[1].current.text, /🛑 Entrenamiento #2 cancelado/);
  rig.engine.gate.release('train:1');
  await rig.services.compute.idle();
  assert.equal(rig.engine.trainCalls.length, 1);
});

test('/score: perplexity under base and class model with a verdict; base only before training; validation', async () => {
  const fresh = createTestRig();
  let ctx = commandContext(fresh.services, fresh.channel, 'score', { text: 'En un lugar de la Mancha' }, STUDENT);
  await score.run(ctx);
  assert.match(ctx.replies[0].current.text, /Perplejidad con el modelo base: 30\nEsta clase aún no tiene modelo afinado/);
  assert.deepEqual(fresh.engine.scoreCalls.map((c) => c.modelDir), [null]);

  const rig = await trainedRig();
  ctx = commandContext(rig.services, rig.channel, 'score', { text: 'En un lugar de la Mancha' }, STUDENT);
  await score.run(ctx);
  assert.match(ctx.replies[0].first.text, /Midiendo el texto… Posición en la cola: 1\./);
  assert.match(ctx.replies[0].current.text, /¿Qué tan quijotesco es\?\*\*\n«En un lugar de la Mancha»\nPerplejidad con el modelo base: 30\nPerplejidad con el modelo de la clase: 12\n¡Muy quijotesco! .* 2,5 veces/);
  ctx = commandContext(rig.services, rig.channel, 'score', { text: 'Mi móvil no tiene batería' }, STUDENT);
  await score.run(ctx);
  assert.match(ctx.replies[0].current.text, /Perplejidad con el modelo de la clase: 29\nPoco quijotesco: .*\(1,03×\)/);
  ctx = commandContext(rig.services, rig.channel, 'score', { text: '' }, STUDENT);
  await score.run(ctx);
  assert.match(ctx.replies[0].first.text, /Escribe un texto de entre 1 y 1000 caracteres/);
});

test('/help lists every command, marks the teachers-only ones, and follows LOCALE', async () => {
  const rig = createTestRig();
  const help = commands.find((c) => c.name === 'help')!;
  let ctx = commandContext(rig.services, rig.channel, 'help', {}, STUDENT);
  await help.run(ctx);
  const text = ctx.replies[0].first.text;
  for (const c of commands) assert.ok(text.includes(`\`/${c.name}\``), c.name);
  assert.match(text, /`\/train` _\(profesorado\)_: Afina el modelo/);
  assert.match(text, /`\/story`: Escribe dos historias/);
  const en = createTestRig({ env: { LOCALE: 'en' } });
  ctx = commandContext(en.services, en.channel, 'help', {}, STUDENT);
  await help.run(ctx);
  assert.match(ctx.replies[0].first.text, /`\/reveal` _\(teachers\)_: Reveal which story/);
  // the model views, in a teacher's words, as a second private message in each language
  assert.equal(ctx.replies[1].first.ephemeral, true);
  assert.match(ctx.replies[1].first.text, /^\*\*Looking inside the model\*\*/);
  for (const c of ['/palabras texto:…', '/siguiente prompt:… [temperatura:…]', '/story prompt:… intensidad:0.5', '/atencion texto:… palabra:…', 'memorization meter']) assert.ok(ctx.replies[1].first.text.includes(c), c);
  ctx = commandContext(rig.services, rig.channel, 'help', {}, STUDENT);
  await help.run(ctx);
  assert.match(ctx.replies[1].first.text, /^\*\*Mirar dentro del modelo\*\*.*`\/palabras texto:…`/s);
  // each message fits Discord's 2000 characters, in both languages
  for (const r of [...ctx.replies, ...en.channel.messages]) assert.ok(r.first.text.length <= 2000, `${r.first.text.length} characters`);
});

test('unexpected errors become a polite internal-error reply and are logged', async () => {
  const rig = await trainedRig();
  rig.engine.story = async () => {
    throw new TypeError('kaboom');
  };
  const ctx = commandContext(rig.services, rig.channel, 'story', { prompt: 'Hola' }, STUDENT);
  await story.run(ctx);
  assert.match(ctx.replies.at(-1)!.first.text, /Algo salió mal en `\/story`/);
  assert.ok(rig.logger.lines.some((l) => l.startsWith('error /story') && l.includes('kaboom')));
  assert.ok(!isQuijoteError(new TypeError('x')));
});

test('errors in the bot words: known codes (GPU_ERROR included) in the locale, others with their own message', async () => {
  const { errorDetail } = await import('../commands/respond.ts');
  const { QuijoteError } = await import('../core/errors.ts');
  const rig = createTestRig({});
  const gpu = new QuijoteError('GPU_ERROR', 'La GPU (WebGPU) rechazó 1 operación(es): …');
  assert.equal(errorDetail(rig.services, gpu), t('es', 'error.GPU_ERROR'));
  assert.match(errorDetail(rig.services, gpu), /WEBGPU_MATMUL=tfjs/);
  assert.equal(errorDetail(rig.services, new QuijoteError('BAD_LINES', 'Con esas líneas no sale ni un bloque.')), 'Con esas líneas no sale ni un bloque.');
});
