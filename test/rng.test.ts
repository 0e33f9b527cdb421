import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRng, shuffle } from '../core/sample/rng.ts';
import { isQuijoteError } from '../core/errors.ts';

/** Independent BigInt re-implementation of splitmix32 + sfc32 (same seeding), to pin the 32-bit arithmetic. */
function referenceU32(seed: number, count: number): bigint[] {
  const M = 0xffffffffn;
  const mix = (start: bigint) => {
    let a = start;
    return () => {
      a = (a + 0x9e3779b9n) & M;
      let t = a ^ (a >> 16n);
      t = (t * 0x21f0aaadn) & M;
      t ^= t >> 15n;
      t = (t * 0x735a2d97n) & M;
      t ^= t >> 15n;
      return t;
    };
  };
  const whole = BigInt(Math.trunc(Math.abs(seed)));
  const lo = mix(whole & M);
  const hi = mix(((whole >> 32n) ^ (seed < 0 ? 0x80000000n : 0n) ^ 0x5bd1e995n) & M);
  let a = lo() ^ hi();
  let b = lo() ^ hi();
  let c = lo() ^ hi();
  let d = lo() ^ hi();
  const next = () => {
    const t = (a + b + d) & M;
    d = (d + 1n) & M;
    a = b ^ (b >> 9n);
    b = (c + (c << 3n)) & M;
    c = ((c << 21n) | (c >> 11n)) & M;
    c = (c + t) & M;
    return t;
  };
  for (let i = 0; i < 15; i++) next();
  return Array.from({ length: count }, next);
}

test('createRng matches an independent BigInt sfc32 for several seeds', () => {
  for (const seed of [0, 1, 42, 123456789, 2 ** 32 + 7, -5, 2 ** 53 - 1]) {
    const rng = createRng(seed);
    const ref = referenceU32(seed, 200);
    for (let i = 0; i < ref.length; i++) assert.equal(rng.next(), Number(ref[i]) / 2 ** 32, `seed ${seed} draw ${i}`);
  }
});

test('same seed gives the same sequence; values lie in [0, 1)', () => {
  const a = createRng(2024);
  const b = createRng(2024);
  for (let i = 0; i < 5000; i++) {
    const x = a.next();
    assert.equal(x, b.next());
    assert.ok(x >= 0 && x < 1, `value ${x} out of range`);
  }
});

test('different seeds give different sequences (including seeds that differ only above 32 bits or in sign)', () => {
  const first = (seed: number) => Array.from({ length: 8 }, ((r) => () => r.next())(createRng(seed)));
  const seqs = [1, 2, 0, 2 ** 32, -1, 1.5].map(first);
  assert.deepEqual(seqs[5], seqs[0], 'fractional part is ignored: 1.5 behaves like 1');
  for (let i = 0; i < 5; i++) for (let j = i + 1; j < 5; j++) assert.notDeepEqual(seqs[i], seqs[j], `seeds #${i} and #${j}`);
});

function chiSquare(counts: number[], expected: number): number {
  return counts.reduce((s, c) => s + (c - expected) ** 2 / expected, 0);
}

test('next() is roughly uniform: chi-square over 20 bins is below the 0.999 quantile (43.8, 19 dof)', () => {
  for (const seed of [7, 99]) {
    const rng = createRng(seed);
    const counts = new Array(20).fill(0);
    const n = 100_000;
    for (let i = 0; i < n; i++) counts[Math.floor(rng.next() * 20)]++;
    assert.ok(chiSquare(counts, n / 20) < 43.8, `seed ${seed}: chi2 ${chiSquare(counts, n / 20)}`);
  }
});

test('int(n) is uniform over [0, n) and validates n', () => {
  const rng = createRng(5);
  const counts = new Array(7).fill(0);
  const n = 70_000;
  for (let i = 0; i < n; i++) {
    const k = rng.int(7);
    assert.ok(Number.isInteger(k) && k >= 0 && k < 7);
    counts[k]++;
  }
  assert.ok(chiSquare(counts, n / 7) < 22.5, `chi2 ${chiSquare(counts, n / 7)} (6 dof, 0.999 quantile 22.46)`);
  for (let i = 0; i < 100; i++) assert.equal(rng.int(1), 0);
  const big = rng.int(2 ** 32);
  assert.ok(big >= 0 && big < 2 ** 32);
  for (const bad of [0, -3, 2.5, NaN, 2 ** 32 + 1]) {
    assert.throws(() => rng.int(bad), (e: unknown) => isQuijoteError(e, 'BAD_ARGUMENT'), `int(${bad})`);
  }
  assert.throws(() => createRng(NaN), (e: unknown) => isQuijoteError(e, 'BAD_ARGUMENT'));
  assert.throws(() => createRng(Infinity), (e: unknown) => isQuijoteError(e, 'BAD_ARGUMENT'));
});

test('shuffle returns a new permutation, leaves the input alone and is deterministic per seed', () => {
  const items = Object.freeze(Array.from({ length: 50 }, (_, i) => i));
  const a = shuffle(items, createRng(11));
  const b = shuffle(items, createRng(11));
  const c = shuffle(items, createRng(12));
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  assert.notDeepEqual(a, items, '50 items staying in order would be a 1/50! event');
  assert.deepEqual([...a].sort((x, y) => x - y), items);
  assert.deepEqual(items, Array.from({ length: 50 }, (_, i) => i));
  assert.deepEqual(shuffle([], createRng(1)), []);
  assert.deepEqual(shuffle(['solo'], createRng(1)), ['solo']);
});

test('shuffle of 3 items gives all 6 orders about equally often', () => {
  const rng = createRng(3);
  const counts = new Map<string, number>();
  const n = 60_000;
  for (let i = 0; i < n; i++) {
    const key = shuffle(['a', 'b', 'c'], rng).join('');
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  assert.equal(counts.size, 6);
  assert.ok(chiSquare([...counts.values()], n / 6) < 20.5, `chi2 ${chiSquare([...counts.values()], n / 6)} (5 dof, 0.999 quantile 20.5)`);
});
