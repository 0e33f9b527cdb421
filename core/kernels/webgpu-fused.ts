/**
 * Fused WebGPU kernels. On an H200, tfjs-backend-webgpu spends ~0.1 ms of host time per dispatch (shader key,
 * bind group, uniforms through Dawn's Node bindings), more than most of GPT-2's small ops take on the GPU, and
 * every JavaScript number used as an operand (`tf.mul(m, 0.9)`) is a scalar tensor uploaded to its own buffer.
 * So the ops that run most often become one dispatch each, with their constants as uniforms:
 *
 *   QuijoteLayerNorm  inference LayerNorm (one workgroup per row), ~8 dispatches → 1; registered under the
 *                     name the wasm fused kernel uses, so ops.ts' `canFuse` picks it up (decoding, evaluation).
 *   QuijoteGeluNew    inference gelu_new, 9 → 1.
 *   training          LayerNorm as 1 dispatch forward and 5 backward (QuijoteLayerNormGradX recomputes the row
 *                     statistics; x̂ for dγ from QuijoteLayerNormXhat) instead of ~10 + ~11; gelu_new as 1 + 1
 *                     (QuijoteGeluNewGrad) instead of ~7 + ~9 — see ops.ts.
 *   adamwUpdate       torch.optim.AdamW for one parameter, with the gradient-clipping factor applied on the
 *                     way in: 3 dispatches (new p, m, v) instead of ~12 ops and ~8 scalar uploads.
 */
import * as tf from '@tensorflow/tfjs-core';
import { asTensor, ElementwiseProgram, MAX_GROUPS, size, THREADS, webgpuBackend, type TensorInfo, type Uniform } from './webgpu-program.ts';

/** LayerNorm over the last axis, one workgroup of 256 threads per row (torch's biased variance). */
class LayerNormProgram {
  variableNames: string[];
  variableComponents: number[];
  uniforms = 'rows : i32, C : i32, eps : f32,';
  outputShape: number[];
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [THREADS, 1, 1];
  shaderKey: string;
  /**
   * mode 'affine': y = x̂·γ + β (inputs X, Gamma, Beta); 'xhat': x̂ alone (input X); 'gradX': the gradient of the
   * input, dx = rstd·(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂)) with dx̂ = dy·γ (inputs X, Gamma, Dy), mean and rstd recomputed.
   */
  constructor(shape: number[], private readonly mode: 'affine' | 'xhat' | 'gradX' = 'affine') {
    this.variableNames = mode === 'affine' ? ['X', 'Gamma', 'Beta'] : mode === 'xhat' ? ['X'] : ['X', 'Gamma', 'Dy'];
    this.variableComponents = this.variableNames.map(() => 1);
    this.shaderKey = `quijoteLayerNorm_${mode}`;
    this.outputShape = shape;
    this.dispatchLayout = { x: shape.map((_, i) => i) };
    const rows = size(shape) / shape[shape.length - 1];
    this.dispatch = [Math.max(1, Math.min(MAX_GROUPS, rows)), Math.max(1, Math.ceil(rows / MAX_GROUPS)), 1];
  }
  getUserCode(): string {
    const reduce = `workgroupBarrier();
    for (var o = ${THREADS / 2}; o > 0; o = o / 2) {
      if (t < o) { red[t] = red[t] + red[t + o]; red2[t] = red2[t] + red2[t + o]; }
      workgroupBarrier();
    }`;
    const xhat = '(X[base + j] - mean) * rstd';
    const tail = this.mode === 'affine'
      ? `if (valid) { for (var j = t; j < C; j = j + ${THREADS}) { result[base + j] = ${xhat} * Gamma[j] + Beta[j]; } }`
      : this.mode === 'xhat'
        ? `if (valid) { for (var j = t; j < C; j = j + ${THREADS}) { result[base + j] = ${xhat}; } }`
        : `workgroupBarrier();
    var sa = 0.0;
    var sb = 0.0;
    if (valid) {
      for (var j = t; j < C; j = j + ${THREADS}) { let d = Dy[base + j] * Gamma[j]; sa = sa + d; sb = sb + d * ${xhat}; }
    }
    red[t] = sa;
    red2[t] = sb;
    ${reduce}
    let ma = red[0] / f32(C);
    let mb = red2[0] / f32(C);
    if (valid) {
      for (var j = t; j < C; j = j + ${THREADS}) {
        let xh = ${xhat};
        result[base + j] = rstd * (Dy[base + j] * Gamma[j] - ma - xh * mb);
      }
    }`;
    return `
  var<workgroup> red : array<f32, ${THREADS}>;
  var<workgroup> red2 : array<f32, ${THREADS}>;
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
    red2[t] = 0.0;
    ${reduce}
    let mean = red[0] / f32(C);
    workgroupBarrier();
    var q = 0.0;
    if (valid) { for (var j = t; j < C; j = j + ${THREADS}) { let d = X[base + j] - mean; q = q + d * d; } }
    red[t] = q;
    red2[t] = 0.0;
    ${reduce}
    let rstd = inverseSqrt(red[0] / f32(C) + uniforms.eps);
    ${tail}
  }`;
  }
}

function runLayerNorm(backend: unknown, mode: 'affine' | 'xhat' | 'gradX', x: TensorInfo, inputs: TensorInfo[], eps: number): TensorInfo {
  const C = x.shape[x.shape.length - 1];
  return webgpuBackend(backend).runWebGPUProgram(new LayerNormProgram(x.shape, mode), [x, ...inputs], 'float32', [
    { type: 'int32', data: [size(x.shape) / C] }, { type: 'int32', data: [C] }, { type: 'float32', data: [eps] },
  ]);
}

type LnArgs = { inputs: { x: TensorInfo; gamma: TensorInfo; beta: TensorInfo; dy: TensorInfo }; backend: unknown; attrs: { eps: number } };
const layerNormKernel = (a: LnArgs) => runLayerNorm(a.backend, 'affine', a.inputs.x, [a.inputs.gamma, a.inputs.beta], a.attrs.eps);
const layerNormXhatKernel = (a: LnArgs) => runLayerNorm(a.backend, 'xhat', a.inputs.x, [], a.attrs.eps);
const layerNormGradKernel = (a: LnArgs) => runLayerNorm(a.backend, 'gradX', a.inputs.x, [a.inputs.gamma, a.inputs.dy], a.attrs.eps);

function geluKernel(args: { inputs: { x: TensorInfo }; backend: unknown }): TensorInfo {
  const { x } = args.inputs;
  const k = 2 * Math.sqrt(2 / Math.PI), a = 0.044715;
  // gelu_new in its sigmoid form, as the wasm kernel and ops.ts' composition: x·σ(k·(x + a·x³))
  const body = `let v = X[i]; result[i] = v / (1.0 + exp(-${k} * (v + ${a} * v * v * v)));`;
  const program = new ElementwiseProgram('quijoteGeluNew', ['X'], 'n : i32,', x.shape, body);
  return webgpuBackend(args.backend).runWebGPUProgram(program, [x], 'float32', [{ type: 'int32', data: [size(x.shape)] }]);
}

function geluGradKernel(args: { inputs: { x: TensorInfo; dy: TensorInfo }; backend: unknown }): TensorInfo {
  const { x, dy } = args.inputs;
  const k = 2 * Math.sqrt(2 / Math.PI), a = 0.044715;
  // d/dx x·σ(u), u = k·(x + a·x³): σ + x·σ·(1 − σ)·k·(1 + 3a·x²)
  const body = `let v = X[i];
      let sg = 1.0 / (1.0 + exp(-${k} * (v + ${a} * v * v * v)));
      result[i] = Dy[i] * (sg + v * sg * (1.0 - sg) * ${k} * (1.0 + ${3 * a} * v * v));`;
  const program = new ElementwiseProgram('quijoteGeluNewGrad', ['X', 'Dy'], 'n : i32,', x.shape, body);
  return webgpuBackend(args.backend).runWebGPUProgram(program, [x, dy], 'float32', [{ type: 'int32', data: [size(x.shape)] }]);
}

/** The kernels above by name: the inference pair (also ops.ts' `canFuse` names) and the training helpers. */
export const FUSED_KERNELS = {
  QuijoteLayerNorm: layerNormKernel,
  QuijoteLayerNormXhat: layerNormXhatKernel,
  QuijoteLayerNormGradX: layerNormGradKernel,
  QuijoteGeluNew: geluKernel,
  QuijoteGeluNewGrad: geluGradKernel,
} as const;

let registered = false;

/** Registers the fused kernels on the webgpu backend (idempotent). */
export function registerWebgpuFusedKernels(): void {
  if (registered) return;
  registered = true;
  for (const [kernelName, kernelFunc] of Object.entries(FUSED_KERNELS)) {
    if (!tf.getKernel(kernelName, 'webgpu')) tf.registerKernel({ kernelName, backendName: 'webgpu', kernelFunc: kernelFunc as unknown as tf.KernelFunc });
  }
}

/** Whether the training versions (forward + fused backward) of LayerNorm and gelu_new can run here. */
export const fusedTrainingOps = (): boolean => tf.getBackend() === 'webgpu' && !!tf.getKernel('QuijoteLayerNormGradX', 'webgpu');

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
  const backend = webgpuBackend();
  const n = p.size;
  const uniforms: Uniform[] = [
    { type: 'int32', data: [n] }, { type: 'float32', data: [s.beta1] }, { type: 'float32', data: [s.beta2] },
    { type: 'float32', data: [s.decay] }, { type: 'float32', data: [s.stepSize] }, { type: 'float32', data: [s.sqrtBc2] },
    { type: 'float32', data: [s.eps] },
  ];
  const inputs = [p, g, m, v, scale] as unknown as TensorInfo[];
  const run = (which: 'p' | 'm' | 'v') => {
    const program = new ElementwiseProgram(`quijoteAdamW_${which}`, ['P', 'G', 'M', 'V', 'S'], ADAMW_UNIFORMS, p.shape, adamwBody(which));
    return asTensor(backend.runWebGPUProgram(program, inputs, 'float32', uniforms), p.shape);
  };
  return { p: run('p'), m: run('m'), v: run('v') };
}
