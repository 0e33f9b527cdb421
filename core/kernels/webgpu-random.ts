/**
 * Dropout masks made on the GPU. tf.dropout draws its uniforms in JavaScript (seedrandom) and uploads them: for
 * GPT-2 124M at batch 16 that is ~77 million numbers per training step, more time than the step's GPU work. Here
 * one WGSL pass hashes (seed, index) with PCG (O'Neill's 32-bit output function on a per-element state) into the
 * keep multiplier: 1/(1 − rate) where u ≥ rate, else 0, as tf.dropout's inverted dropout. Deterministic for a
 * seed; not the same masks as tf.dropout's (the wasm and cpu backends keep those).
 */
import type * as tf from '@tensorflow/tfjs-core';
import { asTensor, ElementwiseProgram, size, webgpuBackend } from './webgpu-program.ts';

const PCG_HASH = `
  fn pcgHash(v : u32) -> u32 {
    let state = v * 747796405u + 2891336453u;
    let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
    return (word >> 22u) ^ word;
  }`;
// 24 random bits of hash(i ^ hash(seed)) in [0, 1), against the rate
const KEEP = `let u = f32(pcgHash(u32(i) ^ pcgHash(uniforms.seed)) >> 8u) * (1.0 / 16777216.0);
      result[i] = select(0.0, uniforms.scale, u >= uniforms.rate);`;

/** Keep multipliers of `shape` for dropout `rate` (0 ≤ rate < 1), from `seed`; made on the WebGPU backend. */
export function webgpuDropoutMask(shape: number[], rate: number, seed: number): tf.Tensor {
  const program = new ElementwiseProgram('quijoteDropoutMask', [], 'n : i32, seed : u32, rate : f32, scale : f32,', shape, KEEP, PCG_HASH);
  return asTensor(webgpuBackend().runWebGPUProgram(program, [], 'float32', [
    { type: 'int32', data: [size(shape)] }, { type: 'uint32', data: [seed >>> 0] },
    { type: 'float32', data: [rate] }, { type: 'float32', data: [1 / (1 - rate)] },
  ]), shape);
}
