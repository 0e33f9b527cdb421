/**
 * Dropout masks made on the GPU. tf.dropout draws its uniforms in JavaScript (seedrandom) and uploads them: for
 * GPT-2 124M at batch 16 that is ~77 million numbers per training step, more time than the step's GPU work. Here
 * one WGSL pass hashes (seed, index) with PCG (O'Neill's 32-bit output function on a per-element state) into the
 * keep multiplier: 1/(1 − rate) where u ≥ rate, else 0, as tf.dropout's inverted dropout. Deterministic for a
 * seed; not the same masks as tf.dropout's (the wasm and cpu backends keep those).
 */
import * as tf from '@tensorflow/tfjs-core';

interface TensorInfo { dataId: object; shape: number[]; dtype: string }
interface WebGPUBackendLike {
  runWebGPUProgram(program: object, inputs: TensorInfo[], dtype: string, uniforms: Array<{ type: string; data: number[] }>): TensorInfo;
}

const THREADS = 256;
const MAX_GROUPS = 65535;

class DropoutMaskProgram {
  variableNames: string[] = [];
  uniforms = 'n : i32, seed : u32, rate : f32, scale : f32,';
  outputShape: number[];
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [THREADS, 1, 1];
  shaderKey = 'quijoteDropoutMask';

  constructor(shape: number[]) {
    this.outputShape = shape;
    this.dispatchLayout = { x: shape.map((_, i) => i) };
    const n = shape.reduce((p, x) => p * x, 1);
    this.dispatch = [Math.max(1, Math.min(MAX_GROUPS, Math.ceil(n / (THREADS * 4)))), 1, 1];
  }

  getUserCode(): string {
    return `
  fn pcgHash(v : u32) -> u32 {
    let state = v * 747796405u + 2891336453u;
    let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
    return (word >> 22u) ^ word;
  }

  fn main(index : i32) { // a flat dispatch: tfjs passes the global thread index
    let stride = i32(numWorkgroups.x) * ${THREADS};
    let key = pcgHash(uniforms.seed);
    for (var i = index; i < uniforms.n; i = i + stride) {
      let u = f32(pcgHash(u32(i) ^ key) >> 8u) * (1.0 / 16777216.0); // 24 random bits in [0, 1)
      result[i] = select(0.0, uniforms.scale, u >= uniforms.rate);
    }
  }`;
  }
}

/** Keep multipliers of `shape` for dropout `rate` (0 ≤ rate < 1), from `seed`; made on the WebGPU backend. */
export function webgpuDropoutMask(shape: number[], rate: number, seed: number): tf.Tensor {
  const program = new DropoutMaskProgram(shape);
  const backend = tf.backend() as unknown as WebGPUBackendLike;
  const out = backend.runWebGPUProgram(program, [], 'float32', [
    { type: 'int32', data: [shape.reduce((p, x) => p * x, 1)] },
    { type: 'uint32', data: [seed >>> 0] },
    { type: 'float32', data: [rate] },
    { type: 'float32', data: [1 / (1 - rate)] },
  ]);
  return tf.engine().makeTensorFromDataId(out.dataId as never, shape, 'float32');
}
