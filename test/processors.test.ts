import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  applyProcessors,
  argmax,
  buildProcessors,
  repetitionPenalty,
  sampleFrom,
  softmax,
  temperature,
  topK,
  topP,
  validateGenerationConfig,
  type GenerationConfig,
} from '../core/sample/processors.ts';
import { createRng, type Rng } from '../core/sample/rng.ts';
import { isQuijoteError } from '../core/errors.ts';

const NEG = -Infinity;
const f32 = (xs: number[]) => Float32Array.from(xs);
const isBadArgument = (e: unknown) => isQuijoteError(e, 'BAD_ARGUMENT');

function assertClose(actual: ArrayLike<number>, expected: number[], tol = 1e-6, what = '') {
  assert.equal(actual.length, expected.length, `${what} length`);
  for (let i = 0; i < expected.length; i++) {
    if (!Number.isFinite(expected[i])) assert.equal(actual[i], expected[i], `${what}[${i}]`);
    else assert.ok(Math.abs(actual[i] - expected[i]) <= tol, `${what}[${i}]: ${actual[i]} vs ${expected[i]}`);
  }
}

/** Ids left finite after a processor: the set of tokens that can still be sampled. */
const kept = (logits: Float32Array) => Array.from(logits.keys()).filter((i) => logits[i] !== NEG);

test('repetitionPenalty: HF rule (positive / penalty, negative * penalty), each id once, prompt included', () => {
  // [2,1,0,-1], penalty 2, ids {0,3}: 2/2=1, 1 untouched, 0 untouched, -1*2=-2.
  const logits = f32([2, 1, 0, -1]);
  const out = repetitionPenalty(2)(logits, [0, 3, 3, 0, 3]);
  assert.equal(out, logits, 'works in place and returns the same array');
  assertClose(out, [1, 1, 0, -2]);
  // Penalty < 1 rewards repeats: 2/0.5=4, -1*0.5=-0.5. Ids outside the vocabulary are ignored.
  assertClose(repetitionPenalty(0.5)(f32([2, 1, 0, -1]), [0, 3, 9, -1]), [4, 1, 0, -0.5]);
  // A zero logit stays zero, -Infinity stays -Infinity, penalty 1 changes nothing.
  assertClose(repetitionPenalty(3)(f32([0, NEG, 6]), [0, 1, 2]), [0, NEG, 2]);
  assertClose(repetitionPenalty(1)(f32([2, -2]), [0, 1]), [2, -2]);
  assert.throws(() => repetitionPenalty(0), isBadArgument);
  assert.throws(() => repetitionPenalty(NaN), isBadArgument);
});

test('temperature divides the logits; 1 is a no-op; t <= 0 is rejected', () => {
  assertClose(temperature(0.5)(f32([2, 1, 0, -1]), []), [4, 2, 0, -2]);
  assertClose(temperature(2)(f32([3, NEG, -4]), []), [1.5, NEG, -2]);
  const x = f32([0.3, -0.7]);
  assertClose(temperature(1)(x, []), [0.3, -0.7].map(Math.fround));
  // Temperature 2 on [ln 4, 0]: probabilities go from 4:1 to 2:1, i.e. [2/3, 1/3].
  assertClose(softmax(temperature(2)(f32([Math.log(4), 0]), [])), [2 / 3, 1 / 3], 1e-6);
  for (const t of [0, -1, NaN, Infinity]) assert.throws(() => temperature(t), isBadArgument, `t=${t}`);
});

test('topK keeps the k largest, and every tie with the k-th value (torch.topk threshold)', () => {
  // Sorted descending [3,3,2,1,0]: k=2 -> threshold 3 keeps ids 0 and 2.
  assert.deepEqual(kept(topK(2)(f32([3, 1, 3, 2, 0]), [])), [0, 2]);
  // k=3 -> threshold 2.
  assert.deepEqual(kept(topK(3)(f32([3, 1, 3, 2, 0]), [])), [0, 2, 3]);
  // k=2 on [1,2,2,2,0]: the 2nd largest is 2 and all three 2s tie, so three tokens survive.
  assert.deepEqual(kept(topK(2)(f32([1, 2, 2, 2, 0]), [])), [1, 2, 3]);
  // k=1 is greedy (ties kept).
  assert.deepEqual(kept(topK(1)(f32([0.5, -1, 0.75, 0.25]), [])), [2]);
  // Surviving values are untouched.
  assertClose(topK(2)(f32([3, 1, 3, 2, 0]), []), [3, NEG, 3, NEG, NEG]);
  // k <= 0 or k >= vocabulary size: no-op.
  for (const k of [0, -3, 5, 50]) assert.deepEqual(kept(topK(k)(f32([3, 1, 3, 2, 0]), [])), [0, 1, 2, 3, 4], `k=${k}`);
  assert.throws(() => topK(1.5), isBadArgument);
});

test('topP keeps the smallest set of most probable tokens whose mass reaches p (HF TopPLogitsWarper)', () => {
  // Logits [ln4, ln2, 0, 0] -> probabilities [0.5, 0.25, 0.125, 0.125].
  const L = () => f32([Math.log(4), Math.log(2), 0, 0]);
  // Ascending: 0.125 (id 3), 0.125 (id 2), 0.25, 0.5; cumulative 0.125, 0.25, 0.5, 1.
  // p = 0.75 -> 1-p = 0.25: ids 3 and 2 (cumulative <= 0.25) go, mass kept = 0.75 exactly.
  assert.deepEqual(kept(topP(0.75)(L(), [])), [0, 1]);
  // p = 0.5 equals the top token's mass -> only id 0.
  assert.deepEqual(kept(topP(0.5)(L(), [])), [0]);
  // p = 0.7 still needs ids 0 and 1 (0.5 < 0.7 <= 0.75).
  assert.deepEqual(kept(topP(0.7)(L(), [])), [0, 1]);
  // p = 0.8 needs one of the 0.125 tokens; among equal logits the lower id is kept.
  assert.deepEqual(kept(topP(0.8)(L(), [])), [0, 1, 2]);
  // A tiny p keeps exactly the argmax (min_tokens_to_keep = 1).
  assert.deepEqual(kept(topP(1e-6)(L(), [])), [0]);
  // p = 1 is a no-op.
  assert.deepEqual(kept(topP(1)(L(), [])), [0, 1, 2, 3]);
  // Uniform over 4: p = 0.5 is reached by exactly two tokens (ids 0, 1), p = 0.51 needs three.
  assert.deepEqual(kept(topP(0.5)(f32([0, 0, 0, 0]), [])), [0, 1]);
  assert.deepEqual(kept(topP(0.51)(f32([0, 0, 0, 0]), [])), [0, 1, 2]);
  // Already-masked tokens have mass 0 and stay masked; [0,-inf,0,-inf] at p=0.5 keeps one 0.5 token.
  assert.deepEqual(kept(topP(0.5)(f32([0, NEG, 0, NEG]), [])), [0]);
  assert.deepEqual(kept(topP(0.9)(f32([0, NEG, 0, NEG]), [])), [0, 2]);
  // Kept logits keep their values (no renormalisation in logit space).
  assertClose(topP(0.75)(L(), []), [Math.log(4), Math.log(2), NEG, NEG].map((v) => (Number.isFinite(v) ? Math.fround(v) : v)));
  for (const p of [0, -0.1, 1.01, NaN]) assert.throws(() => topP(p), isBadArgument, `p=${p}`);
});

test('buildProcessors follows HF order: repetition_penalty, then temperature, top_k, top_p (sampling only)', () => {
  // Greedy: only the repetition penalty runs, even when sampling options are present.
  const greedy: GenerationConfig = { max_new_tokens: 5, do_sample: false, temperature: 0.1, top_k: 1, top_p: 0.1, repetition_penalty: 2 };
  const g = buildProcessors(greedy);
  assert.equal(g.length, 1);
  assertClose(applyProcessors(g, f32([2, 1, 0, -1]), [0, 3]), [1, 1, 0, -2]);

  // Temperature must act before top_p. Logits [1, 0, -5], t = 0.25 -> [4, 0, -20], probabilities about
  // [0.982, 0.018, 0]: top_p 0.9 keeps only id 0. (top_p first would see [0.73, 0.27, 0.002] and keep ids 0, 1.)
  const sharp = buildProcessors({ max_new_tokens: 5, do_sample: true, temperature: 0.25, top_k: 0, top_p: 0.9 });
  assert.equal(sharp.length, 2);
  assertClose(applyProcessors(sharp, f32([1, 0, -5]), []), [4, NEG, NEG]);

  // Penalty before temperature before top_k: [4,2,1,0], ids {0}: penalty 2 -> [2,2,1,0]; t=2 -> [1,1,0.5,0];
  // top_k 2 -> threshold 1 -> [1,1,-inf,-inf]; top_p 0.6: two tokens of 0.5 each, 1-p=0.4 < 0.5 so both stay.
  const all = buildProcessors({ max_new_tokens: 5, do_sample: true, temperature: 2, top_k: 2, top_p: 0.6, repetition_penalty: 2 });
  assert.equal(all.length, 4);
  assertClose(applyProcessors(all, f32([4, 2, 1, 0]), [0]), [1, 1, NEG, NEG]);

  // HF defaults: top_k 50 when sampling and unset; temperature/top_p/penalty 1 add no step.
  const defaults = buildProcessors({ max_new_tokens: 5, do_sample: true });
  assert.equal(defaults.length, 1);
  const wide = applyProcessors(defaults, Float32Array.from({ length: 60 }, (_, i) => i / 10), []);
  assert.deepEqual(kept(wide), Array.from({ length: 50 }, (_, i) => i + 10));
  assert.equal(buildProcessors({ max_new_tokens: 5, do_sample: true, top_k: 0 }).length, 0);
  assert.throws(() => buildProcessors({ max_new_tokens: 0, do_sample: true }), isBadArgument);
});

test('softmax: hand values, stability with large logits, -Infinity, +Infinity, invalid rows', () => {
  assertClose(softmax(f32([0, 0])), [0.5, 0.5], 1e-12);
  assertClose(softmax(f32([0, Math.log(3)])), [0.25, 0.75], 1e-7);
  assertClose(softmax(f32([1000, 1000, NEG])), [0.5, 0.5, 0], 1e-12);
  assertClose(softmax(f32([0, NEG, 0, NEG])), [0.5, 0, 0.5, 0], 1e-12);
  assertClose(softmax(f32([Infinity, 0, Infinity])), [0.5, 0, 0.5], 0);
  const p = softmax(f32([3, -2, 0.5, 7]));
  assert.ok(p instanceof Float64Array);
  assert.ok(Math.abs(p.reduce((a, b) => a + b, 0) - 1) < 1e-12);
  assert.throws(() => softmax(f32([NEG, NEG])), isBadArgument);
  assert.throws(() => softmax(f32([])), isBadArgument);
  assert.throws(() => softmax(f32([0, NaN])), (e: unknown) => isQuijoteError(e, 'INTERNAL'));
});

test('argmax returns the first maximum and skips NaN', () => {
  assert.equal(argmax(f32([1, 3, 3, 2])), 1);
  assert.equal(argmax(f32([NEG, -5])), 1);
  assert.equal(argmax(f32([NaN, -1, -2])), 1);
  assert.equal(argmax(f32([NEG])), 0);
  assert.throws(() => argmax(f32([])), isBadArgument);
});

function fixedRng(values: number[]): Rng & { calls: number } {
  const r = {
    calls: 0,
    next() {
      return values[r.calls++];
    },
    int(n: number) {
      return Math.floor(r.next() * n);
    },
  };
  return r;
}

test('sampleFrom inverts the cumulative distribution with exactly one rng.next()', () => {
  // Probabilities [0.1, 0.2, 0.3, 0.4]; cumulative 0.1, 0.3, 0.6, 1.
  const L = f32([1, 2, 3, 4].map(Math.log));
  const cases: Array<[number, number]> = [[0, 0], [0.05, 0], [0.15, 1], [0.29, 1], [0.35, 2], [0.61, 3], [0.999999, 3]];
  for (const [u, expected] of cases) {
    const rng = fixedRng([u]);
    assert.equal(sampleFrom(L, rng), expected, `u=${u}`);
    assert.equal(rng.calls, 1);
  }
  // Zero-probability tokens never come out, even at u = 0 or u close to 1.
  assert.equal(sampleFrom(f32([NEG, 0, NEG, 0, NEG]), fixedRng([0])), 1);
  assert.equal(sampleFrom(f32([NEG, 0, NEG, 0, NEG]), fixedRng([0.9999999])), 3);
});

test('sampling frequencies match the softmax; same seed, same draws', () => {
  // Probabilities [0.1, 0.2, 0.3, 0.4, 0]: with 40 000 draws the standard error is <= 0.0025, tolerance 0.01.
  const L = f32([...[1, 2, 3, 4].map(Math.log), NEG]);
  const n = 40_000;
  const counts = [0, 0, 0, 0, 0];
  const rng = createRng(1234);
  for (let i = 0; i < n; i++) counts[sampleFrom(L, rng)]++;
  assertClose(counts.map((c) => c / n), [0.1, 0.2, 0.3, 0.4, 0], 0.01, 'frequencies');
  assert.equal(counts[4], 0);

  // After the full chain (top_k 2 on [2, 1, 0.5, 0]) only ids 0 and 1 occur, in ratio e : 1.
  const chain = buildProcessors({ max_new_tokens: 1, do_sample: true, top_k: 2 });
  const c2 = [0, 0, 0, 0];
  const r2 = createRng(9);
  for (let i = 0; i < 20_000; i++) c2[sampleFrom(applyProcessors(chain, f32([2, 1, 0.5, 0]), []), r2)]++;
  assert.equal(c2[2] + c2[3], 0);
  assert.ok(Math.abs(c2[0] / 20_000 - Math.E / (Math.E + 1)) < 0.015, `p0 ${c2[0] / 20_000}`);

  const draws = (seed: number) => {
    const r = createRng(seed);
    return Array.from({ length: 50 }, () => sampleFrom(L, r));
  };
  assert.deepEqual(draws(77), draws(77));
  assert.notDeepEqual(draws(77), draws(78));
});

test('validateGenerationConfig accepts HF-style configs and names the bad option', () => {
  validateGenerationConfig({ max_new_tokens: 1, do_sample: false });
  validateGenerationConfig({ max_new_tokens: 200, do_sample: true, temperature: 0.8, top_k: 0, top_p: 1, repetition_penalty: 1.2, eos_token_id: null, seed: 42 });
  validateGenerationConfig({ max_new_tokens: 200, do_sample: true, eos_token_id: 0, top_p: 0.01 });
  const bad: Array<[Partial<GenerationConfig>, string]> = [
    [{ max_new_tokens: 0 }, 'max_new_tokens'],
    [{ max_new_tokens: 2.5 }, 'max_new_tokens'],
    [{ temperature: 0 }, 'temperature must be > 0'],
    [{ temperature: -1 }, 'temperature must be > 0'],
    [{ top_k: -1 }, 'top_k'],
    [{ top_k: 2.5 }, 'top_k'],
    [{ top_p: 0 }, 'top_p'],
    [{ top_p: 1.5 }, 'top_p'],
    [{ repetition_penalty: 0 }, 'repetition_penalty'],
    [{ eos_token_id: -1 }, 'eos_token_id'],
    [{ seed: 0.5 }, 'seed'],
    [{ do_sample: 'yes' as unknown as boolean }, 'do_sample'],
  ];
  for (const [patch, field] of bad) {
    const cfg = { max_new_tokens: 10, do_sample: true, ...patch } as GenerationConfig;
    assert.throws(
      () => validateGenerationConfig(cfg),
      (e: unknown) => isBadArgument(e) && (e as Error).message.includes(field),
      JSON.stringify(patch),
    );
  }
});
