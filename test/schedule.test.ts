import { test } from 'node:test';
import assert from 'node:assert/strict';
import { linearSchedule, optimizerStepsPerEpoch } from '../core/train/schedule.ts';
import { isQuijoteError } from '../core/errors.ts';

const isBadArgument = (e: unknown) => isQuijoteError(e, 'BAD_ARGUMENT');
const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) <= 1e-15 + 1e-12 * Math.abs(b), `${what}: ${a} vs ${b}`);

test('linear schedule with warmup: hand values (base 1e-3, 10 steps, 2 warmup)', () => {
  const lr = linearSchedule({ baseLr: 1e-3, totalSteps: 10, warmupSteps: 2 });
  // Warmup: 0/2, 1/2 of base; then decay over the remaining 8 steps: (10 - s) / 8.
  const expected = [0, 5e-4, 1e-3, 8.75e-4, 7.5e-4, 6.25e-4, 5e-4, 3.75e-4, 2.5e-4, 1.25e-4, 0, 0, 0];
  expected.forEach((v, s) => close(lr(s), v, `step ${s}`));
});

test('no warmup equals torch_reference.py LambdaLR(max(0, 1 - s/total))', () => {
  const lr = linearSchedule({ baseLr: 5e-5, totalSteps: 4 });
  [5e-5, 3.75e-5, 2.5e-5, 1.25e-5, 0, 0].forEach((v, s) => close(lr(s), v, `step ${s}`));
  const lr2 = linearSchedule({ baseLr: 2e-4, totalSteps: 26, warmupSteps: 0 });
  for (let s = 0; s <= 30; s++) close(lr2(s), 2e-4 * Math.max(0, 1 - s / 26), `step ${s}`);
});

test('edge cases: warmup = total never decays past 0; one-step runs; bad arguments', () => {
  const full = linearSchedule({ baseLr: 1, totalSteps: 4, warmupSteps: 4 });
  assert.deepEqual([0, 1, 2, 3, 4, 5].map(full), [0, 0.25, 0.5, 0.75, 0, 0]);
  const one = linearSchedule({ baseLr: 3e-4, totalSteps: 1 });
  assert.deepEqual([one(0), one(1)], [3e-4, 0]);
  assert.throws(() => linearSchedule({ baseLr: -1, totalSteps: 3 }), isBadArgument);
  assert.throws(() => linearSchedule({ baseLr: 1, totalSteps: 0 }), isBadArgument);
  assert.throws(() => linearSchedule({ baseLr: 1, totalSteps: 3, warmupSteps: 4 }), isBadArgument);
  assert.throws(() => linearSchedule({ baseLr: 1, totalSteps: 3, warmupSteps: 1.5 }), isBadArgument);
  assert.throws(() => linearSchedule({ baseLr: 1, totalSteps: 3 })(-1), isBadArgument);
  assert.throws(() => linearSchedule({ baseLr: 1, totalSteps: 3 })(0.5), isBadArgument);
});

/** Counts optimizer steps the way torch_reference.py's training loop does. */
function simulateReferenceLoop(numBlocks: number, bs: number, accum: number): number {
  const batches = Math.ceil(numBlocks / bs);
  let steps = 0;
  for (let j = 0; j < batches; j++) if ((j + 1) % accum === 0 || j === batches - 1) steps++;
  return steps;
}

test('optimizerStepsPerEpoch: hand values and agreement with the reference loop', () => {
  assert.equal(optimizerStepsPerEpoch(10, 2, 4), 2); // 5 batches: a full group of 4 and a partial group of 1
  assert.equal(optimizerStepsPerEpoch(8, 2, 4), 1); // 4 batches: exactly one group
  assert.equal(optimizerStepsPerEpoch(9, 2, 4), 2); // 5 batches (last one holds 1 block)
  assert.equal(optimizerStepsPerEpoch(100, 2, 4), 13); // 50 batches
  assert.equal(optimizerStepsPerEpoch(1, 8, 1), 1);
  assert.equal(optimizerStepsPerEpoch(0, 2, 4), 0);
  for (let n = 0; n <= 60; n++) for (const bs of [1, 2, 3, 8]) for (const accum of [1, 2, 4, 5]) {
    assert.equal(optimizerStepsPerEpoch(n, bs, accum), simulateReferenceLoop(n, bs, accum), `n=${n} bs=${bs} accum=${accum}`);
  }
  assert.throws(() => optimizerStepsPerEpoch(-1, 2, 4), isBadArgument);
  assert.throws(() => optimizerStepsPerEpoch(10, 0, 4), isBadArgument);
  assert.throws(() => optimizerStepsPerEpoch(10, 2, 0), isBadArgument);
  assert.throws(() => optimizerStepsPerEpoch(10.5, 2, 1), isBadArgument);
});
