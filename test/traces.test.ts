import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { buildCorpusIndex, findCorpusTraces } from '../core/story/traces.ts';
import { extractBodyLines } from '../core/text/gutenberg.ts';
import { isQuijoteError } from '../core/errors.ts';

const SHARED = resolve(process.env.QUIJOTE_SHARED ?? '../shared');
const BOOK = join(SHARED, 'data', 'pg2000-don-quijote.txt');

const CORPUS = [
  'En un lugar de la Mancha, de cuyo nombre no quiero acordarme, no ha mucho',
  'tiempo que vivía un hidalgo de los de lanza en astillero, adarga antigua,',
  'rocín flaco y galgo corredor.',
  '—¿Qué dices, Sancho? —dijo él.',
];

test('finds the maximal spans only, in the story spelling, ignoring case and punctuation', () => {
  const story = 'EN UN LUGAR de la Mancha vivía una monja. Tenía un galgo corredor y nada más.';
  const r = findCorpusTraces(story, CORPUS);
  assert.deepEqual(r.ngrams, ['EN UN LUGAR de la Mancha']);
  assert.equal(r.highlighted, '**EN UN LUGAR de la Mancha** vivía una monja. Tenía un galgo corredor y nada más.');
  assert.equal(r.coverage, 6 / 16);
});

test('a span may cross corpus line breaks and story punctuation', () => {
  const story = 'Dijo: «No ha mucho tiempo, que vivía un hidalgo!» Fin.';
  const r = findCorpusTraces(story, CORPUS);
  assert.deepEqual(r.ngrams, ['No ha mucho tiempo, que vivía un hidalgo']);
  assert.equal(r.highlighted, 'Dijo: «**No ha mucho tiempo, que vivía un hidalgo**!» Fin.');
  assert.equal(r.coverage, 8 / 10);
});

test('accents are significant: "él" is not "el"', () => {
  assert.deepEqual(findCorpusTraces('Sancho dijo el.', CORPUS).ngrams, []);
  assert.deepEqual(findCorpusTraces('sancho dijo él', CORPUS).ngrams, ['sancho dijo él']);
  assert.deepEqual(findCorpusTraces('Qué dices Sancho', CORPUS).ngrams, ['Qué dices Sancho']);
  assert.deepEqual(findCorpusTraces('Que dices Sancho', CORPUS).ngrams, []);
});

test('overlapping maximal spans are listed separately and merged when highlighted', () => {
  // "a b c d" and "c d e f" both occur, "a b c d e" does not: two maximal spans sharing "c d".
  const corpus = ['a b c d', 'x c d e f'];
  const r = findCorpusTraces('a b c d e f', corpus);
  assert.deepEqual(r.ngrams, ['a b c d', 'c d e f']);
  assert.equal(r.highlighted, '**a b c d e f**');
  assert.equal(r.coverage, 1);
});

test('adjacent spans merge; separated ones do not; short matches are ignored', () => {
  const corpus = ['uno dos tres', 'cuatro cinco seis', 'siete ocho nueve diez'];
  const r = findCorpusTraces('uno dos tres. Cuatro cinco seis, ocho nueve diez; nueve diez', corpus);
  assert.deepEqual(r.ngrams, ['uno dos tres. Cuatro cinco seis', 'ocho nueve diez']);
  assert.equal(r.highlighted, '**uno dos tres. Cuatro cinco seis, ocho nueve diez**; nueve diez');
  assert.equal(r.coverage, 9 / 11);
  const apart = findCorpusTraces('uno dos tres y ocho nueve diez', corpus);
  assert.deepEqual(apart.ngrams, ['uno dos tres', 'ocho nueve diez']);
  assert.equal(apart.highlighted, '**uno dos tres** y **ocho nueve diez**');
  assert.equal(apart.coverage, 6 / 7);
  // with minN 4 only the six-word sequence qualifies
  const r4 = findCorpusTraces('uno dos tres. Cuatro cinco seis, ocho nueve diez; nueve diez', corpus, 4);
  assert.deepEqual(r4.ngrams, ['uno dos tres. Cuatro cinco seis']);
});

test('a story with no words, or no matches, has zero coverage and is returned unchanged', () => {
  assert.deepEqual(findCorpusTraces('', CORPUS), { ngrams: [], ngramLines: [], highlighted: '', coverage: 0, longest: null, words: 0 });
  assert.deepEqual(findCorpusTraces('¡¿…?!', CORPUS), { ngrams: [], ngramLines: [], highlighted: '¡¿…?!', coverage: 0, longest: null, words: 0 });
  assert.deepEqual(findCorpusTraces('Nada que ver aquí.', CORPUS), { ngrams: [], ngramLines: [], highlighted: 'Nada que ver aquí.', coverage: 0, longest: null, words: 4 });
});

test('a prebuilt index gives the same answer and works for a larger minN, not a smaller one', () => {
  const index = buildCorpusIndex(CORPUS, 3);
  const story = 'Un hidalgo de los de lanza en ristre, con adarga antigua y rocín flaco y galgo corredor.';
  assert.deepEqual(findCorpusTraces(story, index), findCorpusTraces(story, CORPUS));
  assert.deepEqual(findCorpusTraces(story, index, 5), findCorpusTraces(story, CORPUS, 5));
  assert.deepEqual(findCorpusTraces(story, index).ngrams, ['Un hidalgo de los de lanza en', 'rocín flaco y galgo corredor']);
  assert.throws(() => findCorpusTraces(story, index, 2), (e: unknown) => isQuijoteError(e, 'BAD_ARGUMENT'));
  assert.throws(() => findCorpusTraces(story, CORPUS, 0), (e: unknown) => isQuijoteError(e, 'BAD_ARGUMENT'));
});

test('matches a brute-force search on random word stories', () => {
  const vocab = ['a', 'b', 'c', 'd'];
  let seed = 7;
  const rand = (): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  const words = (n: number): string[] => Array.from({ length: n }, () => vocab[Math.floor(rand() * vocab.length)]);
  for (let round = 0; round < 30; round++) {
    const corpusWords = words(40);
    const storyWords = words(15);
    const corpusText = ' ' + corpusWords.join(' ') + ' ';
    const occurs = (a: number, b: number): boolean => corpusText.includes(' ' + storyWords.slice(a, b).join(' ') + ' ');
    const expected: string[] = [];
    let reach = 0;
    for (let i = 0; i < storyWords.length; i++) {
      let j = i;
      while (j < storyWords.length && occurs(i, j + 1)) j++;
      if (j - i >= 3 && j > reach) {
        expected.push(storyWords.slice(i, j).join(' '));
        reach = j;
      }
    }
    const lines = [corpusWords.slice(0, 17).join(' '), corpusWords.slice(17).join(' ')];
    assert.deepEqual(findCorpusTraces(storyWords.join(' '), lines).ngrams, expected, `round ${round}`);
  }
});

test('whole book: index and search in under 2 s', (t) => {
  if (!existsSync(BOOK)) return t.skip(`${BOOK} not found (set QUIJOTE_SHARED)`);
  const lines = extractBodyLines(readFileSync(BOOK, 'utf8'), { source: BOOK });
  const story =
    'En un lugar de la Mancha vivía una monja muy lectora. La del alba sería cuando salió del colegio, ' +
    'y dijo a Sancho Panza que los libros de caballerías le habían secado el celebro.';
  const t0 = performance.now();
  const index = buildCorpusIndex(lines);
  const r = findCorpusTraces(story, index);
  const ms = performance.now() - t0;
  assert.ok(ms < 2000, `took ${ms.toFixed(0)} ms`);
  assert.ok(r.ngrams.includes('En un lugar de la Mancha'), r.ngrams.join(' | '));
  assert.ok(r.ngrams.some((g) => g.startsWith('La del alba sería')), r.ngrams.join(' | '));
  // every reported span occurs in the book, and is maximal: one more story word on either side does not
  const norm = (s: string): string => ' ' + (s.toLowerCase().match(/[\p{L}\p{N}\p{M}]+/gu) ?? []).join(' ') + ' ';
  const book = norm(lines.join('\n'));
  const storyWords = norm(story).trim().split(' ');
  for (const g of r.ngrams) {
    const words = norm(g).trim().split(' ');
    assert.ok(words.length >= 3 && book.includes(' ' + words.join(' ') + ' '), g);
    const at = storyWords.findIndex((_, i) => storyWords.slice(i, i + words.length).join(' ') === words.join(' '));
    if (at > 0) assert.ok(!book.includes(' ' + storyWords.slice(at - 1, at + words.length).join(' ') + ' '), `not maximal: ${g}`);
    const after = storyWords.slice(at, at + words.length + 1);
    if (after.length > words.length) assert.ok(!book.includes(' ' + after.join(' ') + ' '), `not maximal: ${g}`);
  }
  assert.ok(r.coverage > 0 && r.coverage <= 1);
  const t1 = performance.now();
  const r2 = findCorpusTraces(lines.slice(500, 520).join('\n'), index);
  assert.ok(performance.now() - t1 < 500);
  assert.equal(r2.coverage, 1);
  assert.equal(r2.ngrams.length, 1);
});
