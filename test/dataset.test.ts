import { test } from 'node:test';
import { PY_BOOK_LINES_DEF } from './helpers/py-reference.ts';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { buildDataset, groupTexts, selectLines } from '../core/text/dataset.ts';
import { extractBodyLines } from '../core/text/gutenberg.ts';
import { isQuijoteError } from '../core/errors.ts';

const SHARED = resolve(process.env.QUIJOTE_SHARED ?? '../shared');
const BOOK = join(SHARED, 'data', 'pg2000-don-quijote.txt');

const LINES = Array.from({ length: 10 }, (_, i) => `línea ${i + 1}`);
const bytes = (t: string): number[] => [...Buffer.from(t, 'utf8')];

test('train = first n lines, eval = last evalLines lines, maxLines = total - evalLines', () => {
  const r = selectLines(LINES, 3, 4);
  assert.deepEqual(r.train, ['línea 1', 'línea 2', 'línea 3']);
  assert.deepEqual(r.eval, ['línea 7', 'línea 8', 'línea 9', 'línea 10']);
  assert.equal(r.maxLines, 6);
  const max = selectLines(LINES, 6, 4);
  assert.deepEqual(max.train, LINES.slice(0, 6));
  assert.equal(max.train.filter((l) => max.eval.includes(l)).length, 0, 'train overlaps eval');
  assert.deepEqual(selectLines(LINES, 1, 4).train, ['línea 1']);
});

test('evalLines defaults to 200', () => {
  const many = Array.from({ length: 250 }, (_, i) => String(i));
  const r = selectLines(many, 50);
  assert.equal(r.maxLines, 50);
  assert.equal(r.eval.length, 200);
  assert.equal(r.eval[0], '50');
  assert.throws(() => selectLines(many, 51), (e: unknown) => isQuijoteError(e, 'BAD_LINES') && e.message.includes('entre 1 y 50'));
});

test('bad n values throw BAD_LINES stating the maximum and what was received', () => {
  for (const n of [0, -1, 1.5, 7, Number.NaN, Infinity]) {
    assert.throws(
      () => selectLines(LINES, n, 4),
      (e: unknown) =>
        isQuijoteError(e, 'BAD_LINES') &&
        e.message.includes('entre 1 y 6') &&
        e.message.includes('las últimas 4 líneas') &&
        e.message.endsWith(`recibido: ${String(n)}`),
      `n=${n}`,
    );
  }
});

test('a text too short for the eval set, and bad evalLines, are reported', () => {
  assert.throws(() => selectLines(LINES, 1, 10), (e: unknown) => isQuijoteError(e, 'BAD_LINES') && e.message.includes('10 líneas'));
  assert.throws(() => selectLines(LINES, 1, 0), (e: unknown) => isQuijoteError(e, 'BAD_ARGUMENT'));
});

test('groupTexts cuts consecutive blocks and drops the remainder', () => {
  const ids = Array.from({ length: 11 }, (_, i) => i);
  assert.deepEqual(groupTexts(ids, 4), [[0, 1, 2, 3], [4, 5, 6, 7]]);
  assert.deepEqual(groupTexts(ids.slice(0, 8), 4), [[0, 1, 2, 3], [4, 5, 6, 7]]);
  assert.deepEqual(groupTexts(ids.slice(0, 3), 4), []);
  assert.deepEqual(groupTexts(ids, 1).length, 11);
  assert.deepEqual(groupTexts([], 4), []);
  for (const b of [0, -2, 2.5]) assert.throws(() => groupTexts(ids, b), (e: unknown) => isQuijoteError(e, 'BAD_ARGUMENT'));
});

test('buildDataset joins each set with "\\n" before tokenizing, then groups', () => {
  const seen: string[] = [];
  const encode = (t: string): number[] => {
    seen.push(t);
    return bytes(t);
  };
  const d = buildDataset(LINES, { n: 2, evalLines: 3, blockSize: 5, encode });
  assert.deepEqual(seen, ['línea 1\nlínea 2', 'línea 8\nlínea 9\nlínea 10']);
  const trainIds = bytes('línea 1\nlínea 2'); // 17 bytes ("í" is two) → 3 blocks, 2 dropped
  assert.equal(trainIds.length, 17);
  assert.deepEqual(d.trainBlocks, [trainIds.slice(0, 5), trainIds.slice(5, 10), trainIds.slice(10, 15)]);
  assert.equal(d.evalBlocks.length, Math.floor(bytes('línea 8\nlínea 9\nlínea 10').length / 5));
  assert.deepEqual(d.trainLines, ['línea 1', 'línea 2']);
  assert.deepEqual(d.evalLines, ['línea 8', 'línea 9', 'línea 10']);
});

test('buildDataset refuses a training text shorter than one block', () => {
  assert.throws(
    () => buildDataset(LINES, { n: 1, evalLines: 3, blockSize: 64, encode: bytes }),
    (e: unknown) => isQuijoteError(e, 'BAD_LINES') && e.message.includes('bloque de 64'),
  );
  assert.throws(
    () => buildDataset(LINES, { n: 6, evalLines: 1, blockSize: 20, encode: bytes }),
    (e: unknown) => isQuijoteError(e, 'BAD_ARGUMENT') && e.message.includes('evaluación'),
  );
});

const PY_REFERENCE = PY_BOOK_LINES_DEF + `
lines = book_lines(sys.argv[1]); N = int(sys.argv[2]); T = int(sys.argv[3])
tr = blocks(list("\\n".join(lines[:N]).encode("utf-8")), T)
ev = blocks(list("\\n".join(lines[-200:]).encode("utf-8")), T)
print(json.dumps({"count": len(lines), "maxLines": len(lines) - 200, "first": lines[0], "last": lines[-1],
                  "train": len(tr), "eval": len(ev), "trainFirst": tr[0], "trainLast": tr[-1], "evalLast": ev[-1]}, ensure_ascii=False))
`;

test('real Quijote with 500 lines matches the reference split and grouping (byte tokenizer)', (t) => {
  if (!existsSync(BOOK)) return t.skip(`${BOOK} not found (set QUIJOTE_SHARED)`);
  const lines = extractBodyLines(readFileSync(BOOK, 'utf8'), { source: BOOK });
  const d = buildDataset(lines, { n: 500, blockSize: 128, encode: bytes });
  assert.match(d.trainLines[0], /^Capítulo primero/);
  assert.equal(d.evalLines.at(-1), lines.at(-1));
  const { maxLines } = selectLines(lines, 1);
  assert.throws(() => selectLines(lines, maxLines + 1), (e: unknown) => isQuijoteError(e, 'BAD_LINES') && e.message.includes(`entre 1 y ${maxLines} `));
  assert.equal(selectLines(lines, maxLines).train.length, maxLines);
  const py = spawnSync('python3', ['-c', PY_REFERENCE, BOOK, '500', '128'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (py.error) return t.skip(`python3 not available: ${py.error.message}`);
  assert.equal(py.status, 0, py.stderr);
  const ref = JSON.parse(py.stdout);
  assert.equal(lines.length, ref.count);
  assert.equal(maxLines, ref.maxLines);
  assert.equal(lines[0], ref.first);
  assert.equal(lines.at(-1), ref.last);
  assert.equal(d.trainBlocks.length, ref.train);
  assert.equal(d.evalBlocks.length, ref.eval);
  assert.deepEqual(d.trainBlocks[0], ref.trainFirst);
  assert.deepEqual(d.trainBlocks.at(-1), ref.trainLast);
  assert.deepEqual(d.evalBlocks.at(-1), ref.evalLast);
});
