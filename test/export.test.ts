import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toPayload } from '../bot/discord/payload.ts';
import { csvField } from '../commands/export-csv.ts';
import { results } from '../commands/results.ts';
import { reveal } from '../commands/reveal.ts';
import { story } from '../commands/story.ts';
import { train } from '../commands/train.ts';
import { vote } from '../commands/vote.ts';
import { parseCsv } from './helpers/csv.ts';
import { buttonContext, commandContext, createTestRig, PLACE, settle, STUDENT, STUDENT2, TEACHER, type TestRig } from './helpers/fake-context.ts';

const TRICKY = 'Dijo "hola", y luego,\nen otra línea: «adiós»';

async function classWithPolls(): Promise<TestRig> {
  const rig = createTestRig({ engine: { steps: 2 } });
  await train.run(commandContext(rig.services, rig.channel, 'train', { lines: 5, epochs: 2, lr: 0.001 }));
  await rig.services.compute.idle();
  await settle();
  await story.run(commandContext(rig.services, rig.channel, 'story', { prompt: TRICKY }, STUDENT));
  const poll = rig.channel.posts.at(-1)!;
  const pollId = Number(/#(\d+)/.exec(poll.first.text)![1]);
  const tuned = (await rig.services.store.getPoll(pollId))!.finetunedChoice;
  for (const [user, choice] of [[STUDENT, tuned], [STUDENT2, tuned === 'A' ? 'B' : 'A'], [TEACHER, tuned]] as const) {
    await vote.run(buttonContext(rig.services, rig.channel, `vote:${pollId}:${choice}`, poll, user));
  }
  await reveal.run(commandContext(rig.services, rig.channel, 'reveal', {}, TEACHER));
  await settle();
  return rig;
}

async function exportCsv(rig: TestRig, options: Record<string, string | undefined>, user = TEACHER) {
  const ctx = commandContext(rig.services, rig.channel, 'results', options, user);
  await results.run(ctx);
  return ctx.replies.at(-1)!.first;
}

test('/results exportar:csv is an RFC 4180 CSV of every poll (quotes, commas and line breaks survive) and holds no user id', async () => {
  const rig = await classWithPolls();
  const reply = await exportCsv(rig, { exportar: 'csv' }, STUDENT);
  assert.equal(reply.ephemeral, false, 'the anonymous export is for the whole class');
  assert.match(reply.text, /Las 2 votaciones de la clase en CSV \(anónimo/);
  assert.equal(reply.file!.filename, 'votaciones-2025-01-15.csv');
  const text = reply.file!.data.toString('utf8');
  const rows = parseCsv(text);
  assert.deepEqual(rows[0], ['fecha', 'votacion', 'estado', 'comienzo', 'entrenamiento', 'lineas', 'epocas', 'lr', 'semilla', 'metodo', 'votos_a', 'votos_b', 'afinada', 'deteccion', 'texto', 'texto_sha256', 'mezcla']);
  assert.equal(rows.length, 3);
  const store = rig.services.store;
  const [auto, mine] = [rows[1], rows[2]];
  assert.equal(auto[2], 'abierta');
  assert.equal(auto[12], '', 'an open poll stays blind in the export');
  assert.equal(auto[13], '');
  assert.equal(mine[3], TRICKY);
  const poll = (await store.getPoll(Number(mine[1])))!;
  assert.deepEqual(mine.slice(4, 10), ['1', '5', '2', '0.001', '42', 'full']);
  const tally = await store.tally(poll.id);
  assert.deepEqual([mine[10], mine[11]], [String(tally.A), String(tally.B)]);
  assert.equal(mine[12], poll.finetunedChoice);
  assert.equal(Number(mine[13]), Number((2 / 3).toFixed(4)));
  assert.deepEqual(mine.slice(14, 17), ['', '', ''], 'a run on the Quijote alone names no teacher text');
  assert.equal(mine[0], new Date(poll.createdAt).toISOString());
  for (const id of [STUDENT.id, STUDENT2.id, TEACHER.id]) assert.ok(!text.includes(id), `no ${id} in the anonymous export`);
});

test('voter ids only for teachers, only to them; bad options get the usage', async () => {
  const rig = await classWithPolls();
  const refused = await exportCsv(rig, { exportar: 'csv', ids: 'si' }, STUDENT);
  assert.match(refused.text, /Solo el profesorado puede exportar quién votó qué/);
  assert.equal(refused.file, undefined);
  const withIds = await exportCsv(rig, { exportar: 'csv', ids: 'sí' });
  assert.equal(withIds.ephemeral, true);
  assert.equal(withIds.file!.filename, 'votaciones-2025-01-15-con-ids.csv');
  const rows = parseCsv(withIds.file!.data.toString('utf8'));
  assert.equal(rows[0].at(-1), 'votantes');
  const voters = rows[2].at(-1)!.split('; ').sort();
  const tuned = (await rig.services.store.getPoll(Number(rows[2][1])))!.finetunedChoice;
  const other = tuned === 'A' ? 'B' : 'A';
  assert.deepEqual(voters, [`${STUDENT.id}:${tuned}`, `${STUDENT2.id}:${other}`, `${TEACHER.id}:${tuned}`].sort());
  for (const opts of [{ exportar: 'xlsx' }, { exportar: 'csv', ids: 'quizá' }, { ids: 'si' }]) {
    assert.match((await exportCsv(rig, opts)).text, /`\/results exportar:csv`/);
  }
  // Discord carries the file as an attachment.
  assert.deepEqual(toPayload(withIds).files.map((f) => f.name), ['votaciones-2025-01-15-con-ids.csv']);
});

test('CSV fields: quoting, doubled quotes and defused spreadsheet formulas', () => {
  assert.equal(csvField('a,b'), '"a,b"');
  assert.equal(csvField('di "sí"'), '"di ""sí"""');
  assert.equal(csvField('uno\r\ndos'), '"uno\r\ndos"');
  assert.equal(csvField('=HYPERLINK("x")'), `"'=HYPERLINK(""x"")"`);
  assert.equal(csvField('-1+1'), "'-1+1");
  assert.equal(csvField(-1), '-1', 'numbers are numbers');
  assert.equal(csvField(null), '');
  assert.deepEqual(parseCsv(`a,"b ""c"", d"\r\n"x\ny",\r\n`), [['a', 'b "c", d'], ['x\ny', '']]);
});

test('/results posts a chart across runs whose numbers are the store\'s (only revealed votes count)', async () => {
  const { runBars } = await import('../commands/results-chart.ts');
  const { pngSize } = await import('./helpers/e2e.ts');
  const rig = await classWithPolls();
  await train.run(commandContext(rig.services, rig.channel, 'train', { lines: 7 }));
  await rig.services.compute.idle();
  await settle();
  const cls = (await rig.services.store.findClass(PLACE))!;
  const bars = await runBars(rig.services, cls.id);
  assert.deepEqual(bars.map((b) => [b.runId, b.label, b.detected, b.votes]), [[1, '#1 5 lín.', 2 / 3, 3], [2, '#2 7 lín.', null, 0]]);
  assert.equal(bars[0].perplexity, Math.exp(3.1));
  const ctx = commandContext(rig.services, rig.channel, 'results', {}, STUDENT);
  await results.run(ctx);
  const image = ctx.replies[0].first.image!;
  assert.equal(image.filename, 'entrenamientos.png');
  assert.deepEqual(pngSize(image.data), { width: 900, height: 500 });
  assert.match(image.alt, /#1: 67\s%\s\(3\), ppl 22,2; #2: sin votos revelados, ppl 22,2\.$/);
});
