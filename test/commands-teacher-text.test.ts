/**
 * /train with the teacher's own text, through the platform-neutral command with fakes (the real Discord and Slack
 * clients are in test/e2e-teacher-text.test.ts): every bad file refused on both platforms' paths with nothing
 * stored, streamed downloads with a cap and a timeout, the job carrying the lines, repetir, and the traces and
 * meter naming the text a copied passage came from.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { reveal } from '../commands/reveal.ts';
import { downloadText, textSourceOf } from '../commands/teacher-text.ts';
import { teacherTextRefusal } from '../commands/teacher-text-messages.ts';
import { train } from '../commands/train.ts';
import type { IncomingFile } from '../commands/types.ts';
import { slackFileId } from '../bot/slack/files.ts';
import { teacherTextFromFlags } from '../bot/cli/teacher-text.ts';
import { loadConfig } from '../config/index.ts';
import { parseComputeCommand } from '../core/jobs/protocol.ts';
import type { Place } from '../core/place.ts';
import { classDir } from '../core/store/paths.ts';
import { maxMixedLines, mixCounts, teacherTrainingSet } from '../core/text/teacher-mix.ts';
import { teacherTextFile, teacherTextHash } from '../core/text/teacher-store.ts';
import { readTeacherText, type TeacherTextRefusal } from '../core/text/teacher-text.ts';
import { commandContext, createTestRig, PLACE, settle, TEACHER, until, type TestRig } from './helpers/fake-context.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const TEXT = readFileSync(path.join(here, 'fixtures', 'texto-profesora.txt'));
const TEXT_LINES = (readTeacherText(TEXT) as { lines: string[] }).lines;
const SLACK: Place = { platform: 'slack', teamId: 'T0AULA', channelId: 'C0CLASE' };
const QUIJOTE = Array.from({ length: 400 }, (_, i) => `Línea ${i + 1} del Quijote, con su hidalgo y su rocín número ${i + 1}.`);
const lines = (n: number) => Array.from({ length: n }, (_, i) => `Línea ${i + 1} de un texto de prueba.`).join('\n');

const BAD: Array<{ name: string; data: Buffer }> = [
  { name: 'enorme.txt', data: Buffer.alloc(2.5 * 1024 * 1024, 0x61) },
  { name: 'quijote.txt', data: Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x14, 0, 0, 0]), Buffer.from('quijote.txt')]) },
  { name: 'foto.txt', data: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d]) },
  { name: 'vacio.txt', data: Buffer.alloc(0) },
  { name: 'utf16.txt', data: Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(lines(25), 'utf16le')]) },
  { name: 'windows.txt', data: Buffer.concat([Buffer.from(lines(25), 'latin1'), Buffer.from([0x93, 0x61, 0x94])]) },
  { name: 'corto.txt', data: Buffer.from(lines(19)) },
];
const SAYS: Record<string, RegExp> = {
  'enorme.txt': /ocupa 2,5 MB y el límite es 2 MB/, 'quijote.txt': /es un archivo comprimido \(zip\) con otro nombre/, 'foto.txt': /no es texto sino un archivo PNG/,
  'vacio.txt': /está vacío/, 'utf16.txt': /está en UTF-16/, 'windows.txt': /no está ni en UTF-8 ni en Latin-1/, 'corto.txt': /tiene 19 líneas con texto y hacen falta al menos 20/,
};

function rigWithData(): TestRig & { dataDir: string; fetched: string[]; served: Map<string, Buffer>; done(): void } {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'quijote-texts-'));
  const rig = createTestRig({ env: { DATA_DIR: dataDir, EVAL_LINES: '20' }, engine: { corpus: QUIJOTE, maxLines: 380, steps: 3 } });
  const served = new Map<string, Buffer>();
  const fetched: string[] = [];
  rig.services.fetch = async (input) => {
    const url = String(input);
    fetched.push(url);
    const data = served.get(url);
    return data ? new Response(new Uint8Array(data)) : new Response('not found', { status: 404 });
  };
  return { ...rig, dataDir, fetched, served, done: () => rmSync(dataDir, { recursive: true, force: true }) };
}

/** /train through the command; the file as Discord's adapter gives it (archivo) or as Slack's does (texto → files). */
async function trainWith(rig: ReturnType<typeof rigWithData>, place: Place, options: Record<string, string | number | undefined>, file?: { name: string; data: Buffer }) {
  let files: Record<string, IncomingFile> | undefined;
  if (file) {
    const url = `https://files.example/${place.platform}/${rig.served.size}/${file.name}`;
    rig.served.set(url, file.data);
    const key = place.platform === 'discord' ? 'archivo' : 'texto';
    files = { [key]: { name: file.name, size: file.data.length, url, contentType: 'text/plain' } };
  }
  const ctx = { ...commandContext(rig.services, rig.channel, 'train', options, TEACHER, place), ...(files ? { files } : {}) };
  await train.run(ctx);
  return ctx;
}

test('each bad file gets its refusal through /train on both platforms\' paths: no run, no job, nothing stored', async () => {
  const rig = rigWithData();
  try {
    for (const place of [PLACE, SLACK]) {
      for (const bad of BAD) {
        const ctx = await trainWith(rig, place, { lines: 20, mezcla: 70 }, bad);
        const refusal = readTeacherText(bad.data) as TeacherTextRefusal;
        assert.equal(ctx.replies.length, 1, bad.name);
        assert.equal(ctx.replies[0].first.ephemeral, true);
        assert.equal(ctx.replies[0].first.text, teacherTextRefusal(rig.services, refusal, bad.name));
        assert.match(ctx.replies[0].first.text, SAYS[bad.name]!, `${place.platform} ${bad.name}`);
      }
      const cls = await rig.services.store.findClass(place);
      assert.deepEqual(cls ? await rig.services.store.listRuns(cls.id) : [], []);
      assert.equal(existsSync(path.join(classDir(rig.dataDir, place), 'textos')), false, 'nothing stored');
    }
    assert.ok(!rig.fetched.some((u) => u.endsWith('/enorme.txt')), 'a file the platform says is too big is never downloaded');
    assert.equal(rig.engine.trainCalls.length, 0);
    assert.equal(rig.channel.posts.length, 0);
  } finally {
    rig.done();
  }
});

test('downloads: streamed and cut at 2 MB when no size is declared, a timeout, http(s) only', async () => {
  const rig = rigWithData();
  try {
    let pulled = 0;
    const endless = () => new Response(new ReadableStream({
      pull(c) { pulled += 256 * 1024; c.enqueue(new Uint8Array(256 * 1024).fill(0x61)); }, // never ends on its own
    }));
    const file: IncomingFile = { name: 'grande.txt', size: null, url: 'https://x.example/grande.txt', contentType: null };
    const big = await downloadText(rig.services, file, async () => endless());
    assert.deepEqual(big, { ok: false, message: 'No he guardado «grande.txt»: ocupa más de 2 MB, que es el límite. Quita capítulos o divídelo en partes.' });
    assert.ok(pulled <= 2 * 1024 * 1024 + 3 * 256 * 1024, `stopped reading near the limit (read ${pulled} bytes)`);
    const hang: typeof fetch = (_u, init) => new Promise((_, reject) => init!.signal!.addEventListener('abort', () => reject(init!.signal!.reason)));
    const alive = setTimeout(() => undefined, 5000); // AbortSignal.timeout's timer does not keep the process up by itself
    const slow = await downloadText(rig.services, file, hang, { timeoutMs: 30 });
    clearTimeout(alive);
    assert.deepEqual(slow, { ok: false, message: 'No he guardado «grande.txt»: la descarga tardó más de 0 s. Adjunta el archivo o prueba con otro enlace.' });
    const gone = await downloadText(rig.services, file, async () => new Response('no', { status: 404 }));
    assert.match((gone as { message: string }).message, /^No he podido descargar «grande\.txt» \(HTTP 404\)/);

    for (const url of ['ftp://x.example/a.txt', 'file:///etc/passwd', 'no es un enlace']) {
      const ctx = await trainWith(rig, PLACE, { lines: 20, texto: url });
      assert.match(ctx.replies[0].first.text, /^No puedo descargar .*https:\/\//, url);
    }
    assert.equal(rig.fetched.length, 0, 'nothing fetched for a non-http(s) link');
    for (const raw of ['https://x.example/textos/mi%20diario.txt', '<https://x.example/textos/mi%20diario.txt>', '<https://x.example/textos/mi%20diario.txt|mi diario>']) {
      const src = textSourceOf(commandContext(rig.services, rig.channel, 'train', { texto: raw }), { file: 'archivo', url: 'texto' });
      assert.deepEqual(src && 'file' in src ? src.file : src, { name: 'mi diario.txt', size: null, url: 'https://x.example/textos/mi%20diario.txt', contentType: null }, raw);
    }
    const twice = { ...commandContext(rig.services, rig.channel, 'train', { lines: 20, texto: 'https://x.example/b.txt' }), files: { archivo: file } };
    await train.run(twice);
    assert.match(twice.replies[0].first.text, /^Adjunta el texto \(`archivo`\) o da su enlace \(`texto`\), pero no los dos\./);
    const mixAlone = await trainWith(rig, PLACE, { lines: 20, mezcla: 150 });
    assert.match(mixAlone.replies[0].first.text, /^`mezcla` necesita un texto tuyo/);
  } finally {
    rig.done();
  }
});

test('a good text: the job carries its lines, the class stores it by hash, the run names it; repetir reuses it exactly', async () => {
  const rig = rigWithData();
  try {
    const ctx = await trainWith(rig, PLACE, { lines: 40, mezcla: 70 }, { name: 'texto-profesora.txt', data: TEXT });
    await rig.services.compute.idle();
    await settle();
    const hash = teacherTextHash(TEXT_LINES);
    assert.match(ctx.replies[0].first.text, /\nTexto «texto-profesora\.txt» guardado: 65 líneas, codificación UTF-8 \(detectada\)\.\nEntrenará con 40 líneas: 28 del Quijote y 12 de «texto-profesora\.txt» \(mezcla 70\)/);
    assert.deepEqual(rig.engine.trainCalls[0].params, { lines: 40, epochs: 2, lr: 1e-4, seed: 42, text: { hash, name: 'texto-profesora.txt', mix: 70, lines: TEXT_LINES } });
    assert.deepEqual(readFileSync(teacherTextFile(rig.dataDir, PLACE, hash), 'utf8').trimEnd().split('\n'), TEXT_LINES);
    const cls = (await rig.services.store.findClass(PLACE))!;
    const first = (await rig.services.store.latestDoneRun(cls.id))!;
    assert.deepEqual(first.params.text, { hash, name: 'texto-profesora.txt', mix: 70, encoding: 'utf-8' });
    assert.deepEqual(first.metrics!.teacherEval, { name: 'texto-profesora.txt', lines: 5, lossBefore: 5, lossAfter: 4, perplexityBefore: Math.exp(5), perplexityAfter: Math.exp(4) });
    const findCard = () => rig.channel.posts.find((p) => p.current.text.includes('Perplejidad en «texto-profesora.txt»'));
    await until(() => findCard() !== undefined, 'the results card (its loss curve is drawn on a worker thread)');
    const card = findCard()!;
    assert.match(card.current.text, /Perplejidad en «texto-profesora\.txt» \(sus últimas 5 líneas, que no entrenó\): 148,41 → 54,6\nLo que ganamos, lo que perdimos: en «texto-profesora\.txt» la perplejidad bajó un 63\s%/);
    assert.match(card.current.text, new RegExp(`seed 42 · texto «texto-profesora\\.txt» \\(sha256 ${hash.slice(0, 12)}\\) · mezcla 70 · full`));

    const again = commandContext(rig.services, rig.channel, 'train', { repetir: `#${first.id}` });
    await train.run(again);
    await rig.services.compute.idle();
    await rig.services.compute.idle();
    assert.notEqual((await rig.services.store.latestDoneRun(cls.id))!.id, first.id, 'the repeated run done');
    assert.match(again.replies[0].first.text, /Entrenará con 40 líneas: 28 del Quijote y 12 de «texto-profesora\.txt» \(mezcla 70\)/);
    assert.deepEqual(rig.engine.trainCalls[1].params, rig.engine.trainCalls[0].params, 'the same settings, text and seed');
    assert.deepEqual((await rig.services.store.latestDoneRun(cls.id))!.params, first.params);

    rmSync(teacherTextFile(rig.dataDir, PLACE, hash));
    const missing = commandContext(rig.services, rig.channel, 'train', { repetir: `#${first.id}` });
    await train.run(missing);
    assert.equal(missing.replies[0].first.text, `No puedo repetir #${first.id}: su texto «texto-profesora.txt» ya no está guardado en esta clase. Vuelve a lanzarlo con \`/train\` y el archivo adjunto.`);
    assert.equal(rig.engine.trainCalls.length, 2);

    const tooMany = await trainWith(rig, PLACE, { lines: 200, mezcla: 70 }, { name: 'texto-profesora.txt', data: TEXT });
    const max = maxMixedLines(380, 52, 70); // 65 lines, 13 (a fifth) held out
    assert.equal(max, 175);
    assert.equal(tooMany.replies[0].first.text, `Con mezcla 70 caben como mucho 175 líneas de entrenamiento: «texto-profesora.txt» da 52 líneas para entrenar (sus últimas 13 se guardan para evaluar). Pide \`lines:175\` o menos, o sube la mezcla.`);
  } finally {
    rig.done();
  }
});

test('corpus traces and the memorization meter say which text each copied passage came from', async () => {
  const rig = rigWithData();
  try {
    // The class model "copies" a passage of the teacher's text (its 2nd line) and one of the Quijote (its 1st).
    rig.engine.storyTexts = { base: 'Había una vez un hombre.', tuned: `Dijo que ${TEXT_LINES[1]} Y luego ${QUIJOTE[0]}` };
    await trainWith(rig, SLACK, { lines: 40, mezcla: 70 }, { name: 'texto-profesora.txt', data: TEXT });
    await rig.services.compute.idle();
    await settle();
    const set = teacherTrainingSet(QUIJOTE, TEXT_LINES, { total: 40, mix: 70, seed: 42, evalLines: 20 });
    assert.ok(set.lines.includes(TEXT_LINES[1]!) && set.lines.includes(QUIJOTE[0]!));
    const meter = rig.channel.posts.find((p) => p.current.text.startsWith('📏 Medidor de memorización del cuento'))!;
    assert.match(meter.current.text, /Pasaje copiado más largo: \d+ palabras \(de tu texto «texto-profesora\.txt», línea 2\)\./, meter.current.text);
    const ctx = commandContext(rig.services, rig.channel, 'reveal', {}, TEACHER, SLACK);
    await reveal.run(ctx);
    const text = ctx.replies.at(-1)!.current.text;
    assert.match(text, /Secuencias copiadas de las líneas de entrenamiento: «[^»]+» \(de «texto-profesora\.txt»\), «[^»]+» \(del Quijote\)/, text);
    assert.match(text, /— de tu texto «texto-profesora\.txt», línea 2\./);
  } finally {
    rig.done();
  }
});

test('the training set of a mixed run: shares to the line, held-out lines never trained on, the largest valid lines', () => {
  for (const [total, mix] of [[20, 70], [33, 70], [100, 50], [7, 0], [30, 100], [61, 33]] as const) {
    const set = teacherTrainingSet(QUIJOTE, TEXT_LINES, { total, mix, seed: 9, evalLines: 200 });
    assert.equal(set.lines.length, total);
    assert.ok(Math.abs(set.quijoteLines - (total * mix) / 100) <= 0.5, `${total} at ${mix}: ${set.quijoteLines}`);
    assert.deepEqual(set.lines.filter((_, i) => set.sources[i] === 'quijote'), QUIJOTE.slice(0, set.quijoteLines));
    assert.deepEqual(set.held, TEXT_LINES.slice(-13), 'a fifth of the text held out');
    assert.ok(!set.held.some((l) => set.lines.includes(l)), 'never trained on');
  }
  assert.deepEqual(teacherTrainingSet(QUIJOTE, TEXT_LINES, { total: 50, mix: 70, seed: 9, evalLines: 200 }), teacherTrainingSet(QUIJOTE, TEXT_LINES, { total: 50, mix: 70, seed: 9, evalLines: 200 }));
  for (const [qmax, tmax, mix] of [[380, 52, 70], [380, 52, 50], [10, 52, 50], [380, 52, 0], [380, 52, 100], [5, 3, 33]] as const) {
    const max = maxMixedLines(qmax, tmax, mix);
    const fits = (n: number) => mixCounts(n, mix).quijote <= qmax && mixCounts(n, mix).teacher <= tmax;
    assert.ok(fits(max) && !fits(max + 1) && !fits(max + 2), `${qmax}/${tmax} at ${mix}: ${max}`);
  }
  assert.throws(() => teacherTrainingSet(QUIJOTE, TEXT_LINES, { total: 200, mix: 70, seed: 1, evalLines: 200 }), /Con mezcla 70 caben como mucho 175 líneas/);
});

test('a train job carries the text as data (checked on arrival); Slack file links name their file', () => {
  const request = (text: unknown) => ({
    type: 'submit', request: { id: 'r1', kind: 'train', params: { lines: 20, epochs: 1, lr: 1e-4, outDir: '/x', text }, place: PLACE, owner: { id: 'u' }, createdAt: 1 },
  });
  const good = { hash: teacherTextHash(TEXT_LINES), name: 'a.txt', mix: 70, lines: TEXT_LINES };
  assert.deepEqual((parseComputeCommand(JSON.parse(JSON.stringify(request(good)))) as { request: { params: { text: unknown } } }).request.params.text, good);
  for (const bad of [{ ...good, lines: 'x' }, { ...good, mix: '70' }, { ...good, lines: [1, 2] }, 'a.txt']) {
    assert.throws(() => parseComputeCommand(request(bad)), /Malformed compute message: train text/);
  }
  assert.equal(slackFileId('https://aula.slack.com/files/U0PROFE/F0ABC12345/poema.txt'), 'F0ABC12345');
  assert.equal(slackFileId('<https://files.slack.com/files-pri/T0AULA-F0ABC12345/poema.txt|poema.txt>'), 'F0ABC12345');
  assert.equal(slackFileId('F0ABC12345'), 'F0ABC12345');
  assert.equal(slackFileId('https://example.org/files/U0PROFE/F0ABC12345/poema.txt'), undefined, 'not a Slack host: fetched as a plain URL');
  assert.equal(slackFileId('https://evil.example/?x=aula.slack.com/files/U0/F0ABC12345/'), undefined);
});

test('quijote train --teacher-text FILE --mix N: the same checks and refusals as /train', () => {
  const config = loadConfig({ DATA_DIR: os.tmpdir() });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'quijote-cli-text-'));
  try {
    const good = path.join(dir, 'texto-profesora.txt');
    writeFileSync(good, TEXT);
    assert.deepEqual(teacherTextFromFlags(config, { 'teacher-text': good, mix: '70' }), { hash: teacherTextHash(TEXT_LINES), name: 'texto-profesora.txt', mix: 70, lines: TEXT_LINES });
    assert.equal(teacherTextFromFlags(config, { 'teacher-text': good })!.mix, 50, 'the default mix');
    assert.equal(teacherTextFromFlags(config, {}), undefined);
    assert.throws(() => teacherTextFromFlags(config, { mix: '70' }), /--mix necesita --teacher-text FICHERO/);
    assert.throws(() => teacherTextFromFlags(config, { 'teacher-text': good, mix: '101' }), /--mix debe ser un entero entre 0 y 100/);
    const zip = path.join(dir, 'quijote.txt');
    writeFileSync(zip, BAD[1]!.data);
    assert.throws(() => teacherTextFromFlags(config, { 'teacher-text': zip }), /^QuijoteError: No he guardado «quijote\.txt»: es un archivo comprimido \(zip\) con otro nombre/);
    assert.throws(() => teacherTextFromFlags(config, { 'teacher-text': path.join(dir, 'no-existe.txt') }), /No puedo leer .*no-existe\.txt/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
