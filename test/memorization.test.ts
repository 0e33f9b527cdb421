/**
 * The memorization meter (core/story/memorization.ts, on traces.ts): share of the story inside copied n-grams,
 * the longest copied passage and its place in the book (part, chapter, line), and when the advice shows.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { bookPlaces } from '../core/story/book-place.ts';
import { memorizationMeter, HIGH_LONGEST_WORDS } from '../core/story/memorization.ts';
import { buildCorpusIndex, findCorpusTraces } from '../core/story/traces.ts';
import { extractBodyLines } from '../core/text/gutenberg.ts';

const BOOK = join(resolve(process.env.QUIJOTE_SHARED ?? '../shared'), 'data', 'pg2000-don-quijote.txt');

const LINES = [
  'Primera parte del ingenioso hidalgo don Quijote de la Mancha',
  'Capítulo primero. Que trata de la condición',
  'En un lugar de la Mancha, de cuyo nombre no quiero acordarme,',
  'Capítulo II. De la primera salida',
  'y salió al campo con grandísimo contento y alborozo de ver',
  'Segunda parte del ingenioso hidalgo don Quijote de la Mancha',
  'Capítulo IX. Donde se concluye la batalla',
  'el gallardo vizcaíno y el valiente manchego',
];

test('book places: part and chapter headings carry to the lines after them; line numbers are 1-based', () => {
  const at = bookPlaces(LINES);
  assert.deepEqual(at(2), { part: 'Primera parte', chapter: 'Capítulo primero', line: 3 });
  assert.deepEqual(at(4), { part: 'Primera parte', chapter: 'Capítulo II', line: 5 });
  assert.deepEqual(at(7), { part: 'Segunda parte', chapter: 'Capítulo IX', line: 8 });
  assert.equal(at(8), null);
  assert.equal(at(-1), null);
  assert.equal(bookPlaces(['Segunda parte del ingenioso caballero don Quijote de la Mancha', 'Capítulo primero. x'])(1)!.part, 'Segunda parte (1615)');
});

test('the meter: share, the longest passage with its line, and the advice only when copying is high', () => {
  const index = buildCorpusIndex(LINES);
  const story = 'Y salió al campo con grandísimo contento; luego vio a el gallardo vizcaíno.';
  const m = memorizationMeter(story, index, bookPlaces(LINES));
  const t = findCorpusTraces(story, index);
  assert.equal(m.coverage, t.coverage);
  assert.equal(m.passages, 2);
  assert.deepEqual(m.longest, { text: 'Y salió al campo con grandísimo contento', words: 7, place: { part: 'Primera parte', chapter: 'Capítulo II', line: 5 } });
  assert.equal(m.high, true, `coverage ${m.coverage} ≥ 25 %`);
  const low = memorizationMeter('Un robot aprendió a cocinar tortillas con sus amigos del colegio cada domingo, y el gallardo vizcaíno.', index, bookPlaces(LINES));
  assert.equal(low.longest!.place!.chapter, 'Capítulo IX');
  assert.ok(low.coverage < 0.25 && low.longest!.words < HIGH_LONGEST_WORDS);
  assert.equal(low.high, false);
  const none = memorizationMeter('Nada que ver.', index);
  assert.equal(none.longest, null);
  assert.equal(none.coverage, 0);
});

test('whole book: a copied passage is found at its own line, chapter and part', (t) => {
  if (!existsSync(BOOK)) return t.skip(`${BOOK} not found (set QUIJOTE_SHARED)`);
  const lines = extractBodyLines(readFileSync(BOOK, 'utf8'), { source: BOOK });
  const train = lines.slice(0, 3000);
  const at = bookPlaces(train);
  const k = train.findIndex((l) => l.startsWith('Capítulo IX.'));
  assert.ok(k > 0);
  const story = `Érase una vez un robot. ${train[k + 3]} ${train[k + 4]} Y se fue.`;
  const m = memorizationMeter(story, buildCorpusIndex(train), at);
  assert.ok(m.longest!.words >= 12, `${m.longest!.words} words`);
  assert.equal(m.longest!.place!.chapter, 'Capítulo IX');
  assert.equal(m.longest!.place!.part, 'Segunda parte');
  assert.ok(m.longest!.place!.line <= k + 4 && m.longest!.place!.line >= 1);
  assert.equal(m.high, true);
});
