/**
 * WebGPU: the oracle checks on the GPU where Dawn finds an adapter, our tiled matmul against a float64 reference,
 * gradient clipping over many tensors, and GPU errors surfacing as GPU_ERROR. Skipped, saying why, where no
 * adapter exists: Dawn refuses Mesa's CPU Vulkan (lavapipe), so CPU machines have none unless SwiftShader's
 * Vulkan driver is installed (VK_DRIVER_FILES; see README), where all of this runs, slowly, on the CPU.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { checkGpuErrors, initBackend, webgpuErrors } from '../core/backend.ts';
import { isWebgpuMatmulRegistered, tiledMatMulTensor } from '../core/kernels/webgpu-matmul.ts';
import { webgpuDropoutMask } from '../core/kernels/webgpu-random.ts';
import { AdamW, clipGradNorm } from '../core/train/adamw.ts';
import { geluNew, layerNorm } from '../core/model/ops.ts';
import { canFuse } from '../core/kernels/wasm-extra.ts';
import '@tensorflow/tfjs-backend-cpu';
import { isQuijoteError } from '../core/errors.ts';
import { readStateDict } from '../core/model/checkpoint.ts';
import { parseGPT2Config } from '../core/model/config.ts';
import { buildModel } from '../core/model/params.ts';
import { forward } from '../core/model/gpt2.ts';
import { lmLoss } from '../core/train/loss.ts';
import { generate } from '../core/sample/generate.ts';

const FIXTURE = new URL('./fixtures/gpt2-tiny-golden/', import.meta.url).pathname;
const golden = JSON.parse(readFileSync(join(FIXTURE, 'golden.json'), 'utf8'));

// CI (and anyone) can point only this test at a CPU Vulkan driver: Dawn reads VK_DRIVER_FILES when it starts.
if (process.env.QUIJOTE_TEST_VK_DRIVER_FILES && !process.env.VK_DRIVER_FILES) process.env.VK_DRIVER_FILES = process.env.QUIJOTE_TEST_VK_DRIVER_FILES;

let why: string | null = null;
const logs: string[] = [];
try {
  await initBackend({ request: 'webgpu', log: (l) => logs.push(l), libraryPath: process.env.LD_LIBRARY_PATH });
} catch (e) {
  why = (e as Error).message;
}

test('an unavailable WebGPU is a clear BACKEND_UNAVAILABLE that points to wasm', { skip: why === null ? 'this machine has a WebGPU adapter' : false }, () => {
  assert.match(why!, /webgpu/);
  assert.match(why!, /--backend wasm/);
});

const hfName = (n: string) => (n.startsWith('lm_head.') ? n : `transformer.${n}`);
const sumOf = async (t: tf.Tensor) => ((await t.data()) as Float32Array).reduce((s, v) => s + v, 0);

test('WebGPU: forward, loss, gradients, one AdamW step and greedy decoding match Hugging Face', { skip: why ?? false }, async (t) => {
  assert.equal(tf.getBackend(), 'webgpu');
  assert.ok(isWebgpuMatmulRegistered(), `the tiled matmul passed its start-up check (${logs.join(' | ')})`);
  const config = parseGPT2Config(JSON.parse(readFileSync(join(FIXTURE, 'config.json'), 'utf8')), 'config.json');
  const model = buildModel(config, await readStateDict(FIXTURE), { trainable: true });
  const ids = tf.tensor2d(golden.input_ids, undefined, 'int32');
  // WebGPU in Node has no synchronous read-back (dataSync needs OffscreenCanvas): every read is awaited.
  const lseT = tf.tidy(() => tf.logSumExp(forward(model, ids).logits, -1));
  const lse = (await lseT.array()) as number[][];
  lseT.dispose();
  let lseErr = 0;
  lse.forEach((row, i) => row.forEach((v, j) => { lseErr = Math.max(lseErr, Math.abs(v - golden.logsumexp[i][j])); }));
  assert.ok(lseErr < 1e-4, `logsumexp max |Δ| ${lseErr}`);
  const names = Object.keys(model.weights);
  const params = names.map((n) => model.weights[n] as tf.Variable);
  const { value, grads } = tf.variableGrads(() => lmLoss(model, ids), params);
  const lossErr = Math.abs((await value.data())[0] - golden.loss);
  assert.ok(lossErr < 1e-4, `loss |Δ| ${lossErr}`);
  let gradErr = 0;
  for (const p of params) {
    const sq = tf.tidy(() => tf.sum(tf.square(grads[p.name])));
    const norm = Math.sqrt((await sq.data())[0]);
    sq.dispose();
    const ref = golden.grad_l2[hfName(names[params.indexOf(p)])];
    gradErr = Math.max(gradErr, Math.abs(norm - ref) / ref);
  }
  assert.ok(gradErr < 1e-3, `gradient L2 worst relative error ${gradErr}`);
  const a = golden.after_adamw_step;
  const opt = new AdamW(params, { beta1: a.betas[0], beta2: a.betas[1], eps: a.eps, weightDecay: a.weight_decay });
  opt.step(params.map((p) => grads[p.name]), a.lr);
  let stepErr = 0;
  for (const n of names) {
    const ref = a.param_sum[hfName(n)];
    const d = Math.abs((await sumOf(model.weights[n])) - ref);
    assert.ok(d < Math.max(1e-4, 1e-4 * Math.abs(ref)), `param sum of ${n} after AdamW: Δ ${d}`);
    stepErr = Math.max(stepErr, d);
  }
  opt.dispose();
  tf.dispose([value, ...Object.values(grads)]);
  t.diagnostic(`webgpu vs HF: logsumexp max |Δ| ${lseErr.toExponential(2)}, loss |Δ| ${lossErr.toExponential(2)}, grad L2 worst rel ${gradErr.toExponential(2)}, AdamW param sums worst |Δ| ${stepErr.toExponential(2)}`);
  const frozen = buildModel(config, await readStateDict(FIXTURE));
  const n = golden.greedy.output_ids.length - golden.greedy.prompt_ids.length;
  const g = await generate(frozen, golden.greedy.prompt_ids, { max_new_tokens: n, do_sample: false, eos_token_id: null });
  assert.deepEqual(g.ids, golden.greedy.output_ids);
  assert.deepEqual(webgpuErrors(), [], 'the GPU reported no errors');
});

test('WebGPU: the tiled matmul matches a float64 product for every transpose, ragged edges and batches', { skip: why ?? false }, async () => {
  assert.ok(isWebgpuMatmulRegistered());
  const cases: Array<[number[], number[], boolean, boolean]> = [
    [[200, 72], [72, 260], false, false], [[72, 200], [72, 260], true, false], [[200, 72], [260, 72], false, true],
    [[72, 200], [260, 72], true, true], [[2, 3, 40, 33], [2, 3, 33, 40], false, false], [[3, 129, 64], [64, 130], false, false],
  ];
  let seed = 11;
  for (const [sa, sb, ta, tb] of cases) {
    const x = tf.randomNormal(sa, 0, 1, 'float32', seed++), y = tf.randomNormal(sb, 0, 1, 'float32', seed++);
    const out = tiledMatMulTensor(x, y, ta, tb); // the kernel itself: these sizes are below its dispatch threshold
    const [xd, yd, od] = await Promise.all([x.data(), y.data(), out.data()]);
    const K = ta ? sa.at(-2)! : sa.at(-1)!, M = ta ? sa.at(-1)! : sa.at(-2)!, N = tb ? sb.at(-2)! : sb.at(-1)!;
    const batches = od.length / (M * N), aStride = xd.length === M * K ? 0 : M * K, bStride = yd.length === K * N ? 0 : K * N;
    let worst = 0, scale = 0;
    for (let bi = 0; bi < batches; bi++) for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) {
      let acc = 0;
      for (let k = 0; k < K; k++) {
        const av = xd[bi * aStride + (ta ? k * M + i : i * K + k)], bv = yd[bi * bStride + (tb ? j * K + k : k * N + j)];
        acc += av * bv;
      }
      worst = Math.max(worst, Math.abs(acc - od[(bi * M + i) * N + j]));
      scale = Math.max(scale, Math.abs(acc));
    }
    assert.deepEqual(out.shape, [...(sa.length >= sb.length ? sa : sb).slice(0, -2), M, N]);
    assert.ok(worst / scale < 1e-5, `${sa}×${sb} (transposeA ${ta}, transposeB ${tb}): max |Δ| ${worst} of ${scale}`);
    tf.dispose([x, y, out]);
  }
  assert.deepEqual(webgpuErrors(), []);
});

test('WebGPU: dropout masks made on the GPU drop the right share, scale the rest, and repeat for a seed', { skip: why ?? false }, async () => {
  const read = async (shape: number[], rate: number, seed: number) => { const m = webgpuDropoutMask(shape, rate, seed); const d = await m.data(); m.dispose(); return d as Float32Array; };
  const a = await read([600, 500], 0.1, 5), b = await read([600, 500], 0.1, 5), c = await read([600, 500], 0.1, 6);
  const zeros = a.filter((v) => v === 0).length / a.length;
  assert.ok(Math.abs(zeros - 0.1) < 0.005, `dropped share ${zeros}`); // 300k draws: σ ≈ 0.0005
  assert.ok(a.every((v) => v === 0 || Math.abs(v - 1 / 0.9) < 1e-6));
  assert.deepEqual(a, b, 'same seed, same mask');
  assert.ok(a.some((v, i) => v !== c[i]), 'another seed, another mask');
  const half = await read([4001], 0.5, 9);
  assert.ok(Math.abs(half.filter((v) => v === 0).length / 4001 - 0.5) < 0.04);
});

test('WebGPU: fused LayerNorm, gelu_new and AdamW kernels match the composed ops', { skip: why ?? false }, async () => {
  const maxDiff = async (a: tf.Tensor, b: tf.Tensor) => { const [x, y] = (await Promise.all([a.data(), b.data()])) as Float32Array[]; return x.reduce((m, v, i) => Math.max(m, Math.abs(v - y[i])), 0); };
  const x = tf.randomNormal([3, 70, 300], 0, 2, 'float32', 1), g = tf.randomNormal([300], 1, 0.1, 'float32', 2), b = tf.randomNormal([300], 0, 0.1, 'float32', 3);
  const fused = layerNorm(x, g, b, 1e-5); // no tape: the fused kernel
  assert.ok(canFuse('QuijoteLayerNorm'));
  const { mean, variance } = tf.moments(x, -1, true);
  const ref = tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5))), g), b);
  assert.ok((await maxDiff(fused, ref)) < 1e-4, 'LayerNorm');
  const gel = geluNew(x);
  const gref = tf.mul(tf.mul(x, 0.5), tf.add(1, tf.tanh(tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), Math.sqrt(2 / Math.PI)))));
  assert.ok((await maxDiff(gel, gref)) < 1e-4, 'gelu_new');
  // training: the fused forward + backward (tape on) against the composed ops' gradients on the cpu backend
  const lossOf = (xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor, w: tf.Tensor) => tf.sum(tf.mul(geluNew(layerNorm(xx, gg, bb, 1e-5)), w)) as tf.Scalar;
  const gradsOn = async (backend: string, data: Float32Array[]) => {
    await tf.setBackend(backend);
    const [xx, gg, bb, w] = [tf.tensor(data[0], [3, 70, 300]), tf.tensor(data[1], [300]), tf.tensor(data[2], [300]), tf.tensor(data[3], [3, 70, 300])];
    const gr = tf.grads((a1: tf.Tensor, a2: tf.Tensor, a3: tf.Tensor) => lossOf(a1, a2, a3, w))([xx, gg, bb]);
    const out = (await Promise.all(gr.map((t) => t.data()))) as Float32Array[];
    tf.dispose([xx, gg, bb, w, ...gr]);
    return out;
  };
  const wT = tf.randomNormal([3, 70, 300], 0, 1, 'float32', 4);
  const data = (await Promise.all([x, g, b, wT].map((t) => t.data()))) as Float32Array[];
  wT.dispose();
  const gpuGrads = await gradsOn('webgpu', data);
  const cpuGrads = await gradsOn('cpu', data);
  await tf.setBackend('webgpu');
  for (const [i, name] of ['dx', 'dgamma', 'dbeta'].entries()) {
    const scale = cpuGrads[i].reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    const err = gpuGrads[i].reduce((m, v, j) => Math.max(m, Math.abs(v - cpuGrads[i][j])), 0);
    assert.ok(err / scale < 1e-4, `${name} of LayerNorm → gelu_new: max |Δ| ${err} of ${scale}`);
  }
  // AdamW: the fused WebGPU update against the same update on the cpu backend, over three steps with a clip factor
  const shapes = [[50, 30], [7]];
  const rand = (s: number[], seed: number) => { const t = tf.randomNormal(s, 0, 1, 'float32', seed); const d = t.dataSync(); t.dispose(); return d; };
  await tf.setBackend('cpu'); // draw the data on the cpu backend: WebGPU cannot read back synchronously
  const init = shapes.map((s, i) => rand(s, 10 + i));
  const gradData = [0, 1, 2].map((k) => shapes.map((s, i) => rand(s, 100 + 10 * k + i)));
  await tf.setBackend('webgpu');
  const gradsAt = (k: number) => shapes.map((s, i) => tf.tensor(gradData[k][i], s));
  const run = async () => {
    const ps = init.map((d, i) => tf.variable(tf.tensor(d, shapes[i])));
    const opt = new AdamW(ps, { weightDecay: 0.01 });
    for (let k = 0; k < 3; k++) { const gs = gradsAt(k); const c = tf.scalar(0.7); opt.step(gs, 1e-2, c); tf.dispose([...gs, c]); }
    const out = await Promise.all(ps.map((p) => p.data()));
    opt.dispose(); tf.dispose(ps);
    return out;
  };
  const gpu = await run();
  await tf.setBackend('cpu');
  const cpu = await run();
  await tf.setBackend('webgpu');
  gpu.forEach((d, i) => d.forEach((v, j) => assert.ok(Math.abs(v - cpu[i][j]) < 1e-5, `AdamW param ${i}[${j}]: ${v} vs ${cpu[i][j]}`)));
  tf.dispose([x, g, b, fused, mean, variance, ref, gel, gref]);
  checkGpuErrors();
});

test('WebGPU: gradient clipping over many tensors (more than a shader can bind) is right', { skip: why ?? false }, async () => {
  const grads = Array.from({ length: 40 }, (_, i) => tf.fill([3], i % 2 ? 1 : -1)); // Σg² = 120
  grads.push(tf.fill([300, 1000], 0.01)); // + 30, from a tensor far larger than one workgroup
  const { norm, clipped } = clipGradNorm(grads, 1);
  assert.ok(Math.abs((await norm.data())[0] - Math.sqrt(150)) < 1e-3, `norm ${(await norm.data())[0]}`);
  const total = Math.sqrt((await Promise.all(clipped.map((c) => c.data()))).flatMap((d) => Array.from(d)).reduce((s, v) => s + v * v, 0));
  assert.ok(Math.abs(total - 1) < 1e-5, `clipped norm ${total}`);
  tf.dispose([norm, ...clipped]);
  checkGpuErrors();
});

test('WebGPU: an error the GPU reports stops the next check with GPU_ERROR', { skip: why ?? false }, async () => {
  // tf.addN binds every input to one shader: past the storage-buffer limit (8) Dawn rejects the pipeline.
  const xs = Array.from({ length: 20 }, (_, i) => tf.fill([4], i));
  const bad = tf.addN(xs);
  await bad.data();
  await new Promise((r) => setTimeout(r, 50));
  assert.throws(() => checkGpuErrors(), (e) => isQuijoteError(e, 'GPU_ERROR') && /storage buffers/.test((e as Error).message));
  assert.doesNotThrow(() => checkGpuErrors(), 'each error is reported once');
  tf.dispose([bad, ...xs]);
});
