/**
 * The numbers behind the inspection pictures (core/inspect) against PyTorch: per-token log-probabilities, the top
 * next tokens and attention weights, from test/fixtures/inspect-reference.json (written by
 * test/fixtures/make-inspect-reference.py with ../shared/bench/torch_reference.py). Also: the attention capture
 * leaves the forward pass unchanged, the style dial is exact at α = 0 and 1, and words gained/lost move as a
 * fine-tune on a word would make them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../core/backend.ts';
import { loadModelFolder, type LoadedModel } from '../core/model/load.ts';
import { forward, type GPT2, type LoraSet } from '../core/model/gpt2.ts';
import { disposeModel } from '../core/model/params.ts';
import { tokenLogprobs, compareText, wordShifts } from '../core/inspect/logprobs.ts';
import { nextTokens, nextTokenView } from '../core/inspect/next-tokens.ts';
import { attentionRow, attentionWeights, compareAttention, findWordToken } from '../core/inspect/attention.ts';
import { interpolate, mixWeights, scaleLora } from '../core/inspect/interpolate.ts';
import { tokenPieces, sequenceLogits, type LmRef } from '../core/inspect/lm.ts';
import { AdamW } from '../core/train/adamw.ts';
import { lmLoss } from '../core/train/loss.ts';
import { isQuijoteError } from '../core/errors.ts';

const FIXTURE = new URL('./fixtures/gpt2-tiny-golden/', import.meta.url).pathname;
const REF = JSON.parse(readFileSync(new URL('./fixtures/inspect-reference.json', import.meta.url), 'utf8'));
const SHARED = resolve(process.env.QUIJOTE_SHARED ?? '../shared');
const MINI = join(SHARED, 'models', 'es-novelas-mini');
const dirs: Record<string, string> = { golden: FIXTURE, mini: MINI };

async function load(name: string): Promise<LoadedModel | null> {
  if (!existsSync(join(dirs[name], 'model.safetensors'))) return null;
  await initBackend({ request: 'wasm' });
  return loadModelFolder(dirs[name]);
}

const maxAbs = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

for (const name of ['golden', 'mini']) {
  test(`per-token log-probs and top-10 next tokens match PyTorch (${name})`, async (t) => {
    const m = await load(name);
    if (!m) return t.skip(`${dirs[name]} not found (set QUIJOTE_SHARED)`);
    const before = tf.memory().numTensors;
    for (const ref of REF.models[name].logprobs) {
      const ids = m.tokenizer.encode(ref.text);
      assert.deepEqual(ids, ref.ids, 'same tokens as the reference');
      const lp = await tokenLogprobs({ model: m.model }, ids);
      assert.ok(Number.isNaN(lp[0]));
      const d = maxAbs(lp.slice(1), ref.token_logprobs.slice(1));
      assert.ok(d < 1e-4, `log-prob max |diff| ${d}`);
      const v = await nextTokens({ model: m.model }, m.tokenizer, ids, { temperature: 1, topK: 0, topP: 1 }, 10);
      const got = v.tokens.map((x) => x.id), want = ref.top_next.map((x: { id: number }) => x.id);
      if (ref.min_gap > 1e-4) assert.deepEqual(got, want, 'top-10 ids in order');
      else assert.deepEqual([...got].sort(), [...want].sort(), `top-10 ids (order free: reference gap ${ref.min_gap})`);
      const dl = maxAbs(v.tokens.map((x) => x.logprob), ref.top_next.map((x: { logprob: number }) => x.logprob));
      assert.ok(dl < 1e-4, `top-10 log-prob max |diff| ${dl}`);
      assert.ok(v.tokens.every((x) => x.kept) && v.keptByTopK === 10 && v.keptByTopP === 10);
    }
    assert.equal(tf.memory().numTensors, before, 'no tensor leak');
    disposeModel(m.model);
  });

  test(`attention rows sum to 1 and match PyTorch (${name})`, async (t) => {
    const m = await load(name);
    if (!m) return t.skip(`${dirs[name]} not found (set QUIJOTE_SHARED)`);
    const ref = REF.models[name].attention;
    const ids = m.tokenizer.encode(ref.text);
    assert.deepEqual(ids, ref.ids);
    const before = tf.memory().numTensors;
    const w = await attentionWeights({ model: m.model }, ids);
    assert.equal(w.length, m.model.config.nLayer);
    let worst = 0, worstSum = 0;
    w.forEach((layer, l) => layer.forEach((head, h) => head.forEach((row, q) => {
      worstSum = Math.max(worstSum, Math.abs(row.reduce((a, b) => a + b, 0) - 1));
      for (let k = q + 1; k < row.length; k++) assert.equal(row[k], 0, 'no weight on later tokens');
      worst = Math.max(worst, maxAbs(row, ref.weights[l][h][q]));
    })));
    assert.ok(worstSum < 1e-5, `row sums off by ${worstSum}`);
    assert.ok(worst < 1e-4, `attention max |diff| ${worst}`);
    // the per-layer head average of one row, as the picture uses it
    const q = ids.length - 1;
    const rows = await attentionRow({ model: m.model }, ids, q);
    rows.forEach((row, l) => {
      const mean = row.map((_, k) => ref.weights[l].reduce((s: number, head: number[][]) => s + head[q][k], 0) / ref.weights[l].length);
      assert.ok(maxAbs(row, mean) < 1e-4, `layer ${l} head-average`);
      assert.ok(Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-5);
    });
    assert.equal(tf.memory().numTensors, before, 'no tensor leak');
    disposeModel(m.model);
  });
}

test('capturing attention leaves the logits unchanged; the word is found by its last token', async () => {
  const m = (await load('golden'))!;
  const ids = m.tokenizer.encode('El caballero miró a Sancho y le dijo que callase.');
  const plain = tf.tidy(() => forward(m.model, tf.tensor2d([ids], undefined, 'int32')).logits.dataSync().slice());
  const captured = tf.tidy(() => sequenceLogits({ model: m.model }, ids, { attentions: [] }).dataSync().slice());
  assert.ok(maxAbs(plain, captured) < 1e-5);
  const pieces = tokenPieces(m.tokenizer, ids);
  assert.equal(pieces.join(''), m.tokenizer.decode(ids));
  const at = findWordToken(pieces, 'SANCHO');
  assert.match(pieces.slice(0, at + 1).join(''), /Sancho$/);
  assert.throws(() => findWordToken(pieces, 'Dulcinea'), (e: unknown) => isQuijoteError(e, 'NOT_FOUND'));
  const v = await compareAttention({ base: { model: m.model }, cls: { model: m.model }, tokenizer: m.tokenizer }, 'El caballero miró a Sancho', 'miró');
  assert.equal(v.pieces.join(''), 'El caballero miró');
  assert.deepEqual(v.base, v.cls);
  disposeModel(m.model);
});

test('token pieces keep characters split across byte-level tokens whole', async () => {
  const m = (await load('golden'))!;
  const text = 'año, señor, niña: ¿qué? «sí» — ¡olé! ж€';
  const ids = m.tokenizer.encode(text);
  const pieces = tokenPieces(m.tokenizer, ids);
  assert.equal(pieces.join(''), text);
  assert.ok(pieces.every((p) => !p.includes('\uFFFD')));
  disposeModel(m.model);
});

/** A copy of `m` with every weight moved by seeded noise (a stand-in class model). */
function perturbed(m: GPT2, seed: number): GPT2 {
  const weights: GPT2['weights'] = {};
  let s = seed;
  for (const [n, w] of Object.entries(m.weights)) weights[n] = tf.tidy(() => tf.add(w, tf.randomNormal(w.shape, 0, 0.05, 'float32', s++)));
  return { config: m.config, weights, wteT: tf.transpose(weights['wte.weight']) as tf.Tensor2D };
}

const logitsOf = (ref: LmRef, ids: number[]) => tf.tidy(() => sequenceLogits(ref, ids).dataSync().slice() as Float32Array);
const bitwiseEqual = (a: Float32Array, b: Float32Array) => a.length === b.length && a.every((x, i) => Object.is(x, b[i]) || x === b[i]);

test('style dial: α = 0 and α = 1 give exactly the base and class logits (mixed weights and LoRA)', async () => {
  const m = (await load('golden'))!;
  const cls = perturbed(m.model, 7);
  const ids = m.tokenizer.encode('En un lugar de la Mancha vivía un hidalgo');
  const base = logitsOf({ model: m.model }, ids), klass = logitsOf({ model: cls }, ids);
  assert.ok(maxAbs(base, klass) > 1e-3, 'the class model differs');
  for (const [alpha, want] of [[0, base], [1, klass]] as const) {
    const mixed = mixWeights(m.model, cls, alpha); // the formula itself, not the shortcut
    assert.ok(bitwiseEqual(logitsOf({ model: mixed }, ids), want), `mixed weights at α=${alpha}`);
    disposeModel(mixed);
    const viaDial = interpolate({ model: m.model }, { model: cls }, alpha);
    assert.equal(viaDial.bytes, 0, 'no copy at α = 0 or 1');
    assert.ok(bitwiseEqual(logitsOf(viaDial.ref, ids), want));
  }
  const half = interpolate({ model: m.model }, { model: cls }, 0.5);
  assert.ok(half.bytes > 0);
  const mid = logitsOf(half.ref, ids);
  assert.ok(maxAbs(mid, base) > 1e-4 && maxAbs(mid, klass) > 1e-4);
  half.dispose();
  assert.throws(() => interpolate({ model: m.model }, { model: cls }, 1.6), (e: unknown) => isQuijoteError(e, 'BAD_ARGUMENT'));

  // LoRA: the adapter scaled on the fly, no copy
  const lora: LoraSet = {};
  let s = 3;
  for (const n of Object.keys(m.model.weights).filter((k) => k.endsWith('attn.c_attn.weight'))) {
    const [i, o] = m.model.weights[n].shape;
    lora[n] = { A: tf.variable(tf.randomNormal([i, 4], 0, 0.3, 'float32', s++)), B: tf.variable(tf.randomNormal([4, o], 0, 0.3, 'float32', s++)), scale: 2, dropout: 0.05 };
  }
  const withLora = logitsOf({ model: m.model, lora }, ids);
  assert.ok(maxAbs(withLora, base) > 1e-3);
  for (const [alpha, want] of [[0, base], [1, withLora]] as const) {
    const d = interpolate({ model: m.model }, { model: m.model, lora }, alpha);
    assert.equal(d.bytes, 0);
    assert.ok(bitwiseEqual(logitsOf(d.ref, ids), want), `LoRA at α=${alpha}`);
  }
  assert.equal(scaleLora(lora, 1.5)[Object.keys(lora)[0]].scale, 3);
  for (const p of Object.values(lora)) { p.A.dispose(); p.B.dispose(); }
  disposeModel(cls);
  disposeModel(m.model);
});

test('next-token view: temperature flattens, top-k and top-p cut where the sampler cuts', () => {
  const raw = Float32Array.from([4, 3, 2, 1, 0, -1, -2, -3, -4, -5, -6, -7]);
  const cold = nextTokenView(raw, [], { temperature: 0.5, topK: 0, topP: 1 });
  const hot = nextTokenView(raw, [], { temperature: 2, topK: 0, topP: 1 });
  assert.ok(cold.tokens[0].prob > hot.tokens[0].prob && cold.tokens[9].prob < hot.tokens[9].prob);
  assert.deepEqual(cold.tokens.map((x) => x.id), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const k3 = nextTokenView(raw, [], { temperature: 1, topK: 3, topP: 1 });
  assert.equal(k3.keptByTopK, 3);
  assert.deepEqual(k3.tokens.map((x) => x.kept), [true, true, true, false, false, false, false, false, false, false]);
  const p = nextTokenView(raw, [], { temperature: 1, topK: 50, topP: 0.9 });
  // softmax of 4,3,2,...: 0.632, 0.233, 0.086 → 0.865 < 0.9 ≤ 0.951, so three... plus the fourth
  assert.equal(p.keptByTopK, 10);
  assert.equal(p.keptByTopP, 3 + (p.tokens[0].prob + p.tokens[1].prob + p.tokens[2].prob < 0.9 ? 1 : 0));
  assert.ok(p.keptMass >= 0.9 && p.keptMass < 1);
  const pen = nextTokenView(raw, [0], { temperature: 1, topK: 0, topP: 1, repetitionPenalty: 2 });
  assert.equal(pen.tokens[0].id, 1, 'the repeated token is penalised (4 / 2 = 2 < 3)');
  assert.throws(() => nextTokenView(raw, [], { temperature: 0, topK: 0, topP: 1 }), (e: unknown) => isQuijoteError(e, 'BAD_ARGUMENT'));
});

test('heatmap numbers and words gained/lost: a fine-tune on a phrase raises its words', async () => {
  const m = (await load('golden'))!;
  const base = m.model;
  // the class model: the golden model trained briefly on one phrase
  const cls = (await loadModelFolder(FIXTURE, { trainable: true })).model;
  const params = Object.values(cls.weights) as tf.Variable[];
  const opt = new AdamW(params, { weightDecay: 0 });
  const phrase = m.tokenizer.encode('vuestra merced es un hidalgo. '.repeat(4));
  for (let i = 0; i < 12; i++) {
    const { value, grads } = tf.variableGrads(() => lmLoss(cls, tf.tensor2d([phrase], undefined, 'int32'), { training: false }), params);
    opt.step(params.map((p) => grads[p.name]), 1e-2);
    tf.dispose([value, ...Object.values(grads)]);
  }
  opt.dispose();
  const pair = { base: { model: base }, cls: { model: cls }, tokenizer: m.tokenizer };
  const cmp = await compareText(pair, 'Dijo vuestra merced que el hidalgo es bueno.');
  assert.equal(cmp.tokens.map((x) => x.piece).join(''), 'Dijo vuestra merced que el hidalgo es bueno.');
  assert.ok(Number.isNaN(cmp.tokens[0].delta));
  cmp.tokens.slice(1).forEach((x) => assert.ok(Math.abs(x.delta - (x.cls - x.base)) < 1e-6));
  const held = ['Y dijo vuestra merced al hidalgo que viniese.', 'El hidalgo y vuestra merced se fueron al lugar.', 'Otra vez vuestra merced habló con el hidalgo de la Mancha.'];
  const s = await wordShifts(pair, held, { blockSize: 32, minCount: 3 });
  const gainedWords = s.gained.map((w) => w.word);
  for (const w of ['merced', 'hidalgo']) assert.ok(gainedWords.includes(w), `${w} gained: ${gainedWords.join(', ')}`);
  assert.ok(s.gained.every((w) => w.count >= 3 && w.delta > 0));
  assert.ok(s.lost.every((w) => w.delta < 0));
  assert.ok(s.gained.length <= 10 && s.lost.length <= 10);
  const same = await wordShifts({ ...pair, cls: pair.base }, held, { blockSize: 32, minCount: 1 });
  assert.equal(same.gained.length + same.lost.length, 0, 'no shift against itself');
  disposeModel(cls);
  disposeModel(base);
});

test('the inspector: a cancelled film stops before its next frame; the film at α = 0 and 1 is the base and class story', async () => {
  const { createInspector } = await import('../core/inspect/inspector.ts');
  const m = (await load('golden'))!;
  const cls = perturbed(m.model, 11);
  const pair = { base: { model: m.model }, cls: { model: cls }, tokenizer: m.tokenizer };
  const inspector = createInspector({
    pairFor: async () => pair, heldOutLines: async () => ['Dijo vuestra merced al hidalgo.'], blockSize: 32,
    generationConfig: (o) => ({ max_new_tokens: 12, do_sample: true, temperature: 0.9, top_k: 50, top_p: 0.95, repetition_penalty: 1.1, seed: 1, ...o }),
  });
  const frames = await inspector.film('En un lugar', '/m', [0, 1], 5);
  const { generate } = await import('../core/sample/generate.ts');
  const cfg = { max_new_tokens: 12, do_sample: true, temperature: 0.9, top_k: 50, top_p: 0.95, repetition_penalty: 1.1, seed: 5, eos_token_id: m.tokenizer.eosTokenId ?? 0 };
  const ids = m.tokenizer.encode('En un lugar');
  const { cutStory } = await import('../core/story/sentences.ts');
  for (const [i, model] of [[0, m.model], [1, cls]] as const) {
    const out = await generate(model, ids, cfg);
    assert.equal(frames[i]!.text, cutStory(m.tokenizer.decode(out.newIds)).text, `frame ${i} is the ${i ? 'class' : 'base'} model's story`);
  }
  assert.notEqual(frames[0]!.text, frames[1]!.text);
  const ac = new AbortController();
  ac.abort();
  await assert.rejects(inspector.film('En un lugar', '/m', [0, 0.5], 5, { signal: ac.signal }), (e: unknown) => isQuijoteError(e, 'CANCELLED'));
  disposeModel(cls);
  disposeModel(m.model);
});
