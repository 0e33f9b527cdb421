import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { mixLines, splitTeacherLines } from '../core/text/mix.ts';
import { loadTeacherText, storeTeacherText, teacherTextHash } from '../core/text/teacher-store.ts';
import { MAX_TEACHER_TEXT_BYTES, readTeacherText } from '../core/text/teacher-text.ts';

const PLACE = { platform: 'discord' as const, teamId: 'T1', channelId: 'C1' };
const lines = (n: number, word = 'línea') => Array.from({ length: n }, (_, i) => `${word} número ${i + 1}, con eñe y acentos: ¿qué tal?`);
const utf8 = (s: string) => new Uint8Array(Buffer.from(s, 'utf8'));

test('a UTF-8 text is read as UTF-8, a Latin-1 one as Latin-1 (detected), Gutenberg markers optional', () => {
  const text = lines(25).join('\r\n');
  const u = readTeacherText(utf8(text));
  assert.ok(u.ok);
  assert.equal(u.encoding, 'utf-8');
  assert.equal(u.lines.length, 25);
  assert.equal(u.gutenberg, false);
  const l = readTeacherText(new Uint8Array(Buffer.from(text, 'latin1')));
  assert.ok(l.ok);
  assert.equal(l.encoding, 'latin-1');
  assert.deepEqual(l.lines, u.lines, 'the same letters either way');
  const g = readTeacherText(utf8(['Cabecera de Gutenberg', '*** START OF THE PROJECT GUTENBERG EBOOK X ***', ...lines(22), '*** END OF THE PROJECT GUTENBERG EBOOK X ***', 'Licencia'].join('\n')));
  assert.ok(g.ok);
  assert.equal(g.gutenberg, true);
  assert.equal(g.lines.length, 22);
  assert.ok(!g.lines.some((x) => /Licencia|Cabecera/.test(x)));
});

test('each bad file gets its own refusal', () => {
  const big = new Uint8Array(MAX_TEACHER_TEXT_BYTES + 1).fill(0x61);
  assert.deepEqual(readTeacherText(big), { ok: false, reason: 'too-big', bytes: MAX_TEACHER_TEXT_BYTES + 1, max: MAX_TEACHER_TEXT_BYTES });
  const zip = new Uint8Array([0x50, 0x4b, 0x03, 0x04, 0x14, 0, 0, 0, ...utf8('quijote.txt')]);
  assert.deepEqual(readTeacherText(zip), { ok: false, reason: 'zip' });
  assert.deepEqual(readTeacherText(new Uint8Array([0x50, 0x4b, 0x05, 0x06, ...new Array(18).fill(0)])), { ok: false, reason: 'zip' });
  assert.deepEqual(readTeacherText(utf8('%PDF-1.7\n...')), { ok: false, reason: 'binary', kind: 'PDF' });
  const junk = new Uint8Array(4096).map((_, i) => (i * 37) % 256);
  assert.equal((readTeacherText(junk) as { reason: string }).reason, 'binary');
  assert.deepEqual(readTeacherText(utf8('')), { ok: false, reason: 'empty' });
  assert.deepEqual(readTeacherText(utf8(' \n\n  \r\n\t\n')), { ok: false, reason: 'empty' });
  assert.deepEqual(readTeacherText(new Uint8Array([0xff, 0xfe, 0x61, 0x00])), { ok: false, reason: 'encoding', detail: 'utf-16' });
  // Windows-1252 curly quotes (0x93/0x94) are neither UTF-8 nor Latin-1 text.
  assert.deepEqual(readTeacherText(new Uint8Array([...Buffer.from(lines(25).join('\n'), 'latin1'), 0x93, 0x61, 0x94])), { ok: false, reason: 'encoding', detail: 'unknown' });
  assert.deepEqual(readTeacherText(utf8(lines(19).join('\n'))), { ok: false, reason: 'few-lines', lines: 19, min: 20 });
});

test('mixing is deterministic for a seed and holds the stated ratio to the line', () => {
  const q = lines(500, 'quijote');
  const t = lines(300, 'profe');
  const a = mixLines(q, t, 200, 70, 42);
  assert.deepEqual(mixLines(q, t, 200, 70, 42), a, 'same seed, same text');
  assert.notDeepEqual(mixLines(q, t, 200, 70, 7).sources, a.sources, 'another seed, another order');
  assert.equal(a.lines.length, 200);
  assert.equal(a.quijoteLines, 140);
  assert.equal(a.teacherLines, 60);
  assert.equal(a.lines.filter((l) => l.startsWith('quijote')).length, 140);
  // Each source keeps its order: the first 140 Quijote lines and the first 60 teacher lines, in order.
  assert.deepEqual(a.lines.filter((l) => l.startsWith('quijote')), q.slice(0, 140));
  assert.deepEqual(a.lines.filter((l) => l.startsWith('profe')), t.slice(0, 60));
  // Interleaved, not one block after the other: every window of 50 lines has both.
  for (let i = 0; i + 50 <= 200; i += 50) assert.ok(new Set(a.sources.slice(i, i + 50)).size === 2);
  for (const [total, pct] of [[7, 70], [33, 50], [101, 10], [50, 100], [50, 0]] as const) {
    const m = mixLines(q, t, total, pct, 1);
    assert.ok(Math.abs(m.quijoteLines - (total * pct) / 100) <= 0.5, `${total} @ ${pct} %`);
  }
  assert.throws(() => mixLines(q, t.slice(0, 10), 200, 70, 1), /teacher's text has 10 training lines, 60 needed/);
  const split = splitTeacherLines(t, 200);
  assert.equal(split.held.length, 60, 'at most a fifth of the text is held out');
  assert.deepEqual([...split.train, ...split.held], t);
});

test('a checked text is stored per class under its content hash; a refused one is never stored', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'quijote-texts-'));
  try {
    const r = readTeacherText(utf8(lines(21).join('\n')));
    assert.ok(r.ok);
    const stored = storeTeacherText(dir, PLACE, r.lines);
    assert.equal(stored.hash, teacherTextHash(r.lines));
    assert.equal(path.basename(stored.file), `${stored.hash}.txt`);
    assert.ok(stored.file.startsWith(path.join(dir, 'classes', 'discord-T1-C1', 'textos')));
    assert.deepEqual(loadTeacherText(dir, PLACE, stored.hash), r.lines);
    assert.deepEqual(storeTeacherText(dir, PLACE, r.lines), stored, 'the same text twice is one file');
    assert.deepEqual(readdirSync(path.dirname(stored.file)), [`${stored.hash}.txt`], 'no temporary file left');
    assert.ok(!existsSync(path.join(dir, 'classes', 'discord-T1-C2')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('each refusal is said in Spanish naming the limit; an accepted text names its detected encoding', async () => {
  const { createTestRig } = await import('./helpers/fake-context.ts');
  const { teacherTextAccepted, teacherTextRefusal } = await import('../commands/teacher-text-messages.ts');
  const s = createTestRig().services;
  const say = (bytes: Uint8Array) => {
    const r = readTeacherText(bytes);
    assert.ok(!r.ok);
    return teacherTextRefusal(s, r, 'mio.txt');
  };
  assert.match(say(new Uint8Array(MAX_TEACHER_TEXT_BYTES + 200_000).fill(0x61)), /No he guardado «mio.txt»: ocupa 2,2 MB y el límite es 2 MB/);
  assert.match(say(new Uint8Array([0x50, 0x4b, 0x03, 0x04, 1, 2])), /es un archivo comprimido \(zip\) con otro nombre/);
  assert.match(say(utf8('%PDF-1.4')), /no es texto sino un archivo PDF/);
  assert.match(say(utf8('\n \n')), /está vacío/);
  assert.match(say(new Uint8Array([0xfe, 0xff, 0, 0x61])), /está en UTF-16/);
  assert.match(say(new Uint8Array([0x61, 0x93, 0x62])), /ni en UTF-8 ni en Latin-1/);
  assert.match(say(utf8(lines(3).join('\n'))), /tiene 3 líneas con texto y hacen falta al menos 20/);
  const ok = readTeacherText(new Uint8Array(Buffer.from(lines(20).join('\n'), 'latin1')));
  assert.ok(ok.ok);
  assert.equal(teacherTextAccepted(s, ok, 'mio.txt'), 'Texto «mio.txt» guardado: 20 líneas, codificación Latin-1 (ISO-8859-1) (detectada).');
});
