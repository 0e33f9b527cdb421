/**
 * /sweep and /usar with the fake engine (fast): refusals that name the limits, values trained one after another
 * with the same seed, one blind poll per value, the card's numbers from the store, /cancel stopping the rest,
 * /train and /usar waiting for a running sweep, and /usar switching the model that /story uses.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { cancel } from '../commands/cancel.ts';
import { formatNumber, formatPercent } from '../commands/messages.ts';
import { measure } from '../commands/meter.ts';
import { pollStories } from '../commands/poll.ts';
import { story } from '../commands/story.ts';
import { sweep } from '../commands/sweep.ts';
import { train } from '../commands/train.ts';
import { usar } from '../commands/usar.ts';
import { renderSweepCard } from '../core/plot/sweep-card.ts';
import { commandContext, createTestRig, PLACE, settle, STUDENT, until, type TestRig } from './helpers/fake-context.ts';
import { Gate } from './helpers/fake-engine.ts';
import { pngSize } from './helpers/e2e.ts';

const refusal = async (rig: TestRig, options: Record<string, string | number>, user = undefined as typeof STUDENT | undefined) => {
  const ctx = commandContext(rig.services, rig.channel, 'sweep', options, user);
  await sweep.run(ctx);
  assert.equal(ctx.replies.length, 1, JSON.stringify(options));
  assert.equal(ctx.replies[0]!.current.ephemeral, true);
  return ctx.replies[0]!.current.text;
};

test('/sweep refuses bad input in Spanish, naming the limits, and starts nothing', async () => {
  const rig = createTestRig({ engine: { maxLines: 1000 } });
  assert.match(await refusal(rig, { lines: '50,200' }, STUDENT), /^Solo el profesorado puede usar `\/sweep`/);
  assert.match(await refusal(rig, {}), /^Di qué ajuste comparar, con 2 a 4 valores separados por comas: `\/sweep lines:50,200,500`.*por defecto 100 líneas, 2 épocas, lr 0,0001/);
  assert.match(await refusal(rig, { lines: '200' }), /^Di qué ajuste comparar/);
  assert.equal(await refusal(rig, { lines: '50,200', epochs: '1,2' }), 'Un barrido compara un solo ajuste a la vez: da la lista en `lines`, `epochs` o `lr`, y en los otros como mucho un valor fijo (escribiste listas en `lines`, `epochs`).');
  assert.equal(await refusal(rig, { lines: '10,20,30,40,50' }), 'Un barrido lleva de 2 a 4 valores (escribiste 5), por ejemplo `/sweep lines:50,200,500`.');
  assert.equal(await refusal(rig, { lines: '50,50' }), 'El valor 50 está repetido en `lines`: cada valor se entrena una sola vez.');
  assert.match(await refusal(rig, { lines: '50,2000' }), /^Los valores de `lines` deben ser enteros entre 1 y 1000 .*«2000» no vale\.$/);
  assert.match(await refusal(rig, { lines: '50,abc' }), /«abc» no vale\.$/);
  assert.match(await refusal(rig, { epochs: '0,2' }), /^Los valores de `epochs` deben ser enteros entre 1 y 20, .*«0» no vale\.$/);
  assert.match(await refusal(rig, { lr: '0.0001,0.5' }), /^Los valores de `lr` deben ser números mayores que 0 y menores que 0,1, .*«0.5» no vale\.$/);
  assert.match(await refusal(rig, { lines: '50,200', epochs: '99' }), /«99» no vale\.$/, 'a fixed value is checked too');
  assert.equal(await refusal(rig, { lines: '50,200', prompt: 'x'.repeat(301) }), 'El comienzo de las votaciones debe tener entre 1 y 300 caracteres.');
  assert.equal(rig.engine.trainCalls.length, 0);
  assert.equal((await rig.services.store.findClass(PLACE)), undefined, 'no class, run or sweep was stored');

  const en = createTestRig({ env: { LOCALE: 'en' } });
  const text = await refusal(en, { lr: '0,0001;0,5' });
  assert.match(text, /^The values of `lr` must be numbers above 0 and below 0\.1, .*"0\.5" is not one\.$/, 'decimal commas with semicolons are read');
});

test('/sweep lr:0,0001;0,0005 reads decimal commas; the values keep their order', async () => {
  const rig = createTestRig({ engine: { steps: 2 } });
  const ctx = commandContext(rig.services, rig.channel, 'sweep', { lr: '0,0001;0,0005', lines: '5' });
  await sweep.run(ctx);
  await until(() => rig.channel.find((x) => x.startsWith('📊 **Barrido #1 terminado**')) !== undefined, 'the card');
  assert.deepEqual(rig.engine.trainCalls.map((c) => [c.params.lines, c.params.lr]), [[5, 0.0001], [5, 0.0005]]);
});

test('/sweep lines:2,4,6: one training after another with the same seed, a blind poll each, then the card from the store', async () => {
  const gate = new Gate();
  const data = mkdtempSync(path.join(os.tmpdir(), 'quijote-sweep-'));
  after(() => rmSync(data, { recursive: true, force: true }));
  const rig = createTestRig({ engine: { steps: 3, gate }, env: { DATA_DIR: data } });
  const s = rig.services;
  gate.hold('train:1');
  const ctx = commandContext(s, rig.channel, 'sweep', { lines: '2,4,6', prompt: 'En un lugar de la Mancha' });
  const running = sweep.run(ctx);
  await gate.reached('train:1');
  await running;
  assert.match(ctx.replies[0]!.current.text, /^Barrido #1 aceptado: 3 entrenamientos \(2 líneas · 4 líneas · 6 líneas\), uno tras otro, con 2 épocas · lr 0,0001 · semilla 42\. /);
  const cls = (await s.store.findClass(PLACE))!;
  assert.deepEqual((await s.store.activeRuns(cls.id)).map((r) => r.id), [1], 'only the first value is queued');

  // while it runs, /train and /usar wait and a second sweep is refused
  const tr = commandContext(s, rig.channel, 'train', { lines: 10 });
  await train.run(tr);
  assert.equal(tr.replies.at(-1)!.current.text, 'Esta clase tiene un barrido en marcha (#1) y sus entrenamientos van uno tras otro. Espera a que termine o detenlo con `/cancel`.');
  const again = commandContext(s, rig.channel, 'sweep', { lines: '5,6' });
  await sweep.run(again);
  assert.equal(again.replies.at(-1)!.current.text, 'Esta clase ya tiene un barrido en marcha (#1). Espera a que termine o detenlo con `/cancel`.');
  gate.release('train:1');

  const card = await (async () => {
    await until(() => rig.channel.find((x) => x.startsWith('📊 **Barrido #1 terminado**')) !== undefined, 'the sweep card', 20_000);
    return rig.channel.find((x) => x.startsWith('📊 **Barrido #1 terminado**'))!.current;
  })();
  const runs = (await s.store.listRuns(cls.id));
  assert.deepEqual(runs.map((r) => [r.params.lines, r.params.seed, r.sweepId, r.status]), [[2, 42, 1, 'done'], [4, 42, 1, 'done'], [6, 42, 1, 'done']]);
  assert.deepEqual(rig.engine.trainCalls.map((c) => [c.params.lines, c.params.seed]), [[2, 42], [4, 42], [6, 42]]);
  assert.equal((await s.store.getSweep(1))!.status, 'done');
  const polls = (await s.store.listPolls(cls.id));
  assert.deepEqual(polls.map((p) => [p.runId, p.prompt]), runs.map((r) => [r.id, 'En un lugar de la Mancha']));
  for (const [i, p] of polls.entries()) assert.ok(rig.channel.find((x) => x === `🧪 Barrido #1, ${i + 1} de 3: la votación #${p.id} es la de ${runs[i]!.params.lines} líneas (entrenamiento #${runs[i]!.id}).`));

  // the card's numbers are the runs' stored metrics and the meter of each poll's fine-tuned story
  for (const [i, run] of runs.entries()) {
    const m = run.metrics!;
    const { a, b } = await pollStories(s, polls[i]!);
    const tuned = polls[i]!.finetunedChoice === 'A' ? a : b;
    const mem = formatPercent('es', measure(tuned.text, await s.text.trainingLines(run.params.lines)).coverage);
    const row = `• ${run.params.lines} líneas (#${run.id}): perplejidad ${formatNumber('es', m.perplexityBefore, 2)} → **${formatNumber('es', m.perplexityAfter, 2)}**, memorización ${mem} (votación #${polls[i]!.id})`;
    assert.ok(card.text.includes(row), `${row}\nin\n${card.text}`);
    assert.ok(card.image!.alt.includes(`${run.params.lines} líneas (#${run.id}): perplejidad ${formatNumber('es', m.perplexityAfter, 2)}, memorización ${mem}`), card.image!.alt);
  }
  assert.equal(card.image!.filename, 'barrido-1.png');
  assert.equal(pngSize(card.image!.data).width, 520);
  assert.equal(card.mentionUserId, 'teacher1');
  assert.match(card.text, /El barrido no cambia el modelo de la clase: elegid uno con `\/usar run:#3`\.$/);
  assert.equal((await s.store.classModelRun(cls.id)), undefined, 'a sweep does not choose the class model');

  // /usar: refusals, then the class model switches and /story uses it
  const use = async (run: string, user = undefined as typeof STUDENT | undefined) => {
    const u = commandContext(s, rig.channel, 'usar', { run }, user);
    await usar.run(u);
    return u.replies.at(-1)!.current;
  };
  assert.match((await use('#2', STUDENT)).text, /^Solo el profesorado puede usar `\/usar`/);
  assert.match((await use('#99')).text, /^No encuentro el entrenamiento #99 en esta clase\./);
  assert.match((await use('#1')).text, /^La carpeta del modelo del entrenamiento #1 ya se borró \(cada clase guarda sus 3 últimos, `KEEP_RUNS`\)/, 'the fake engine writes no folder');
  mkdirSync(runs[1]!.modelDir!, { recursive: true });
  const chosen = await use('#2');
  assert.equal(chosen.ephemeral, undefined, 'the class is told');
  assert.match(chosen.text, /^✅ El modelo de la clase es ahora el del entrenamiento #2 \(lines 4 · epochs 2 · lr 0,0001 · seed 42 · full · /);
  assert.equal((await s.store.classModelRun(cls.id))!.id, 2);
  assert.equal((await use('2')).text, 'El entrenamiento #2 ya es el modelo de la clase.');
  const st = commandContext(s, rig.channel, 'story', { prompt: 'Érase una vez' }, STUDENT);
  await story.run(st);
  await s.compute.idle();
  await settle();
  assert.equal(rig.engine.storyCalls.at(-1)!.modelDir, runs[1]!.modelDir, '/story uses the chosen run');
});

test('/cancel by a teacher stops the running value and the rest; the card comes with what finished', async () => {
  const gate = new Gate();
  const rig = createTestRig({ engine: { steps: 3, gate } });
  const s = rig.services;
  let steps = 0;
  rig.engine.onStep = () => { if (++steps === 4) gate.hold('train:2'); }; // the second value stops at its step 2
  await sweep.run(commandContext(s, rig.channel, 'sweep', { epochs: '1,2,3', lines: '4' }));
  await until(() => steps >= 4, 'the second value training');
  await settle();
  const c = commandContext(s, rig.channel, 'cancel', {});
  await cancel.run(c);
  const said = c.replies.at(-1)!.current.text;
  assert.match(said, /^Cancelado: /);
  assert.ok(said.endsWith('El barrido #1 se detiene: no se entrenarán los valores que faltan, y la tarjeta llegará con los que terminaron.'), said);
  gate.release('train:2');
  await until(() => rig.channel.find((x) => x.startsWith('📊 **Barrido #1 terminado** (detenido tras 1 de 3)')) !== undefined, 'the partial card', 20_000);
  const runs = await s.store.listRuns((await s.store.findClass(PLACE))!.id);
  assert.deepEqual(runs.map((r) => [r.params.epochs, r.status]), [[1, 'done'], [2, 'cancelled']]);
  assert.equal((await s.store.getSweep(1))!.status, 'cancelled');
  assert.equal(rig.engine.trainCalls.length, 2, 'the third value never started');
});

test('LOCALE=en: the sweep speaks English, the card included', async () => {
  const rig = createTestRig({ env: { LOCALE: 'en' }, engine: { steps: 2 } });
  const ctx = commandContext(rig.services, rig.channel, 'sweep', { lines: '2,4' });
  await sweep.run(ctx);
  assert.match(ctx.replies[0]!.current.text, /^Sweep #1 accepted: 2 trainings \(2 lines · 4 lines\), one after another, with 2 epochs · lr 0\.0001 · seed 42\./);
  await until(() => rig.channel.find((x) => x.startsWith('📊 **Sweep #1 finished**')) !== undefined, 'the card');
  const card = rig.channel.find((x) => x.startsWith('📊 **Sweep #1 finished**'))!.current;
  assert.match(card.text, /\n• 2 lines \(#1\): perplexity 66\.69 → \*\*22\.2\*\*, memorization \d+% \(poll #1\)\n/);
  assert.equal(card.image!.filename, 'sweep-1.png');
  assert.ok(card.image!.alt.startsWith('Card of sweep #1: the loss curves overlaid'), card.image!.alt);
});

test('the card is 520 px wide in both languages and draws every value', () => {
  const base = {
    title: 'Sweep #1: 50 lines · 200 lines', subtitle: 'Everything else the same: 2 epochs', locale: 'en' as const,
    base: { label: 'base (eval)', barLabel: 'base model', evalLoss: 5, perplexity: 148, perplexityText: '148' },
    labels: { loss: 'Training loss', epoch: 'epoch', perplexity: 'Eval perplexity', memorization: 'Memorization', footer: 'One colour per value.' },
    series: [50, 200].map((n, i) => ({ label: `${n} lines (#${i + 1})`, curve: [{ x: 1, y: 4.5 - i }, { x: 2, y: 4 - i }], perplexity: 90 - i * 20, perplexityText: String(90 - i * 20), memorization: 0.1 * i, memorizationText: `${10 * i}%` })),
  };
  const png = renderSweepCard(base);
  assert.equal(pngSize(png).width, 520);
  assert.ok(!renderSweepCard({ ...base, series: base.series.slice(0, 1) }).equals(png));
});
