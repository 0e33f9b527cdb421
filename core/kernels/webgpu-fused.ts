/**
 * Fused WebGPU kernels. On an H200, tfjs-backend-webgpu spends ~0.1 ms of host time per dispatch (shader key,
 * bind group, uniforms through Dawn's Node bindings), more than most of GPT-2's small ops take on the GPU, and
 * every JavaScript number used as an operand (`tf.mul(m, 0.9)`) is a scalar tensor uploaded to its own buffer.
 * So the ops that run most often become one dispatch each, with their constants as uniforms:
 *
 *   QuijoteLayerNorm  inference LayerNorm (one workgroup per row), ~8 dispatches → 1; registered under the
 *                     name the wasm fused kernel uses, so ops.ts' `canFuse` picks it up (decoding, evaluation).
 *   QuijoteGeluNew    inference gelu_new, 9 → 1.
 *   adamwUpdate       torch.optim.AdamW for one parameter, with the gradient-clipping factor applied on the
 *                     way in: 3 dispatches (new p, m, v) instead of ~12 ops and ~8 scalar uploads.
 */
import * as tf from '@tensorflow/tfjs-core';

interface TensorInfo { dataId: object; shape: number[]; dtype: string }
interface WebGPUBackendLike {
  runWebGPUProgram(program: object, inputs: TensorInfo[], dtype: string, uniforms: Array<{ type: string; data: number[] }>): TensorInfo;
}
type Uniform = { type: 'int32' | 'float32'; data: number[] };

const THREADS = 256;
const MAX_GROUPS = 65535;
const size = (shape: number[]) => shape.reduce((p, x) => p * x, 1);

/** A flat, grid-stride elementwise program: `body` assigns result[i] from the inputs at i. */
class ElementwiseProgram {
  outputShape: number[];
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [THREADS, 1, 1];
  variableComponents: number[];
  constructor(readonly shaderKey: string, readonly variableNames: string[], readonly uniforms: string, shape: number[], private readonly body: string) {
    this.outputShape = shape;
    this.dispatchLayout = { x: shape.map((_, i) => i) };
    this.dispatch = [Math.max(1, Math.min(MAX_GROUPS, Math.ceil(size(shape) / (THREADS * 4)))), 1, 1];
    this.variableComponents = variableNames.map(() => 1);
  }
  getUserCode(): string {
    return `
  fn main(index : i32) { // flat dispatch: tfjs passes the global thread index
    let stride = i32(numWorkgroups.x) * ${THREADS};
    for (var i = index; i < uniforms.n; i = i + stride) {
      ${this.body}
    }
  }`;
  }
}

/** LayerNorm over the last axis, one workgroup of 256 threads per row (torch's biased variance). */
class LayerNormProgram {
  variableNames = ['X', 'Gamma', 'Beta'];
  variableComponents = [1, 1, 1];
  uniforms = 'rows : i32, C : i32, eps : f32,';
  outputShape: number[];
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [THREADS, 1, 1];
  shaderKey = 'quijoteLayerNorm';
  constructor(shape: number[]) {
    this.outputShape = shape;
    this.dispatchLayout = { x: shape.map((_, i) => i) };
    const rows = size(shape) / shape[shape.length - 1];
    this.dispatch = [Math.max(1, Math.min(MAX_GROUPS, rows)), Math.max(1, Math.ceil(rows / MAX_GROUPS)), 1];
  }
  getUserCode(): string {
    const reduce = `workgroupBarrier();
    for (var o = ${THREADS / 2}; o > 0; o = o / 2) {
      if (t < o) { red[t] = red[t] + red[t + o]; }
      workgroupBarrier();
    }`;
    return `
  var<workgroup> red : array<f32, ${THREADS}>;
  fn main(index : i32) {
    // One row per workgroup (x + 65535·y). No early return: barriers must stay in uniform control flow.
    let row = i32(workgroupId.x) + i32(workgroupId.y) * ${MAX_GROUPS};
    let valid = row < uniforms.rows;
    let t = i32(localId.x);
    let C = uniforms.C;
    let base = row * C;
    var s = 0.0;
    if (valid) { for (var j = t; j < C; j = j + ${THREADS}) { s = s + X[base + j]; } }
    red[t] = s;
    ${reduce}
    let mean = red[0] / f32(C);
    workgroupBarrier();
    var q = 0.0;
    if (valid) { for (var j = t; j < C; j = j + ${THREADS}) { let d = X[base + j] - mean; q = q + d * d; } }
    red[t] = q;
    ${reduce}
    let rstd = inverseSqrt(red[0] / f32(C) + uniforms.eps);
    if (valid) { for (var j = t; j < C; j = j + ${THREADS}) { result[base + j] = (X[base + j] - mean) * rstd * Gamma[j] + Beta[j]; } }
  }`;
  }
}

const backendOf = (b: unknown) => b as WebGPUBackendLike;

function layerNormKernel(args: { inputs: { x: TensorInfo; gamma: TensorInfo; beta: TensorInfo }; backend: unknown; attrs: { eps: number } }): TensorInfo {
  const { x, gamma, beta } = args.inputs;
  const C = x.shape[x.shape.length - 1];
  const rows = size(x.shape) / C;
  return backendOf(args.backend).runWebGPUProgram(new LayerNormProgram(x.shape), [x, gamma, beta], 'float32', [
    { type: 'int32', data: [rows] }, { type: 'int32', data: [C] }, { type: 'float32', data: [args.attrs.eps] },
  ]);
}

function geluKernel(args: { inputs: { x: TensorInfo }; backend: unknown }): TensorInfo {
  const { x } = args.inputs;
  const k = 2 * Math.sqrt(2 / Math.PI), a = 0.044715;
  // gelu_new in its sigmoid form, as the wasm kernel and ops.ts' composition: x·σ(k·(x + a·x³))
  const body = `let v = X[i]; result[i] = v / (1.0 + exp(-${k} * (v + ${a} * v * v * v)));`;
  const program = new ElementwiseProgram('quijoteGeluNew', ['X'], 'n : i32,', x.shape, body);
  return backendOf(args.backend).runWebGPUProgram(program, [x], 'float32', [{ type: 'int32', data: [size(x.shape)] }]);
}

let registered = false;

/** Registers QuijoteLayerNorm and QuijoteGeluNew on the webgpu backend (idempotent). */
export function registerWebgpuFusedKernels(): void {
  if (registered) return;
  registered = true;
  if (!tf.getKernel('QuijoteLayerNorm', 'webgpu')) tf.registerKernel({ kernelName: 'QuijoteLayerNorm', backendName: 'webgpu', kernelFunc: layerNormKernel as unknown as tf.KernelFunc });
  if (!tf.getKernel('QuijoteGeluNew', 'webgpu')) tf.registerKernel({ kernelName: 'QuijoteGeluNew', backendName: 'webgpu', kernelFunc: geluKernel as unknown as tf.KernelFunc });
}

export interface AdamWScalars { beta1: number; beta2: number; eps: number; decay: number; stepSize: number; sqrtBc2: number }

const ADAMW_UNIFORMS = 'n : i32, b1 : f32, b2 : f32, decay : f32, stepSize : f32, sqrtBc2 : f32, eps : f32,';
// Every variant reads every input: WebGPU's 'auto' pipeline layout leaves out bindings a shader never touches,
// and tfjs binds them all.
const adamwBody = (which: 'p' | 'm' | 'v') => `
      let g = G[i] * S[0];
      let m1 = uniforms.b1 * M[i] + (1.0 - uniforms.b1) * g;
      let v1 = uniforms.b2 * V[i] + (1.0 - uniforms.b2) * g * g;
      let p1 = P[i] * uniforms.decay - (m1 / (sqrt(v1) / uniforms.sqrtBc2 + uniforms.eps)) * uniforms.stepSize;
      result[i] = ${which}1;`;

/**
 * One AdamW update of p (torch.optim.AdamW) with gradient g·scale, on WebGPU: returns the new p, m and v as fresh
 * tensors (the caller assigns them); `scale` is a 1-element tensor (the clipping factor).
 */
export function adamwUpdate(p: tf.Tensor, g: tf.Tensor, m: tf.Tensor, v: tf.Tensor, scale: tf.Tensor, s: AdamWScalars): { p: tf.Tensor; m: tf.Tensor; v: tf.Tensor } {
  const backend = backendOf(tf.backend());
  const n = p.size;
  const uniforms: Uniform[] = [
    { type: 'int32', data: [n] }, { type: 'float32', data: [s.beta1] }, { type: 'float32', data: [s.beta2] },
    { type: 'float32', data: [s.decay] }, { type: 'float32', data: [s.stepSize] }, { type: 'float32', data: [s.sqrtBc2] },
    { type: 'float32', data: [s.eps] },
  ];
  const inputs = [p, g, m, v, scale] as unknown as TensorInfo[];
  const run = (which: 'p' | 'm' | 'v') => {
    const program = new ElementwiseProgram(`quijoteAdamW_${which}`, ['P', 'G', 'M', 'V', 'S'], ADAMW_UNIFORMS, p.shape, adamwBody(which));
    const out = backend.runWebGPUProgram(program, inputs, 'float32', uniforms);
    return tf.engine().makeTensorFromDataId(out.dataId as never, p.shape, 'float32');
  };
  return { p: run('p'), m: run('m'), v: run('v') };
}
