/**
 * What our WebGPU kernels share: the slice of tfjs-backend-webgpu's interface they use (a program is an object
 * with WGSL user code, shapes and a dispatch; `runWebGPUProgram` compiles it once per shader key and runs it),
 * and a flat, grid-stride elementwise program.
 */
import * as tf from '@tensorflow/tfjs-core';

export interface TensorInfo { dataId: object; shape: number[]; dtype: string }
export type Uniform = { type: 'int32' | 'uint32' | 'float32'; data: number[] };
export interface WebGPUBackendLike {
  runWebGPUProgram(program: object, inputs: TensorInfo[], dtype: string, uniforms: Uniform[], output?: TensorInfo): TensorInfo;
}

export const THREADS = 256;
export const MAX_GROUPS = 65535; // WebGPU's default maxComputeWorkgroupsPerDimension
export const size = (shape: number[]): number => shape.reduce((p, x) => p * x, 1);

/** The current (webgpu) backend, or a kernel's `backend` argument, as the interface above. */
export const webgpuBackend = (b: unknown = tf.backend()): WebGPUBackendLike => b as WebGPUBackendLike;

/** A program's output as a tf.Tensor of `shape` (the engine takes ownership of the buffer). */
export const asTensor = (out: TensorInfo, shape: number[] = out.shape): tf.Tensor =>
  tf.engine().makeTensorFromDataId(out.dataId as never, shape, 'float32');

/**
 * result[i] for every i < uniforms.n, `body` assigning it from the inputs at i; `prelude` holds WGSL functions.
 * A flat dispatch (tfjs passes main the global thread index) of at most 65535 workgroups, each thread striding.
 */
export class ElementwiseProgram {
  outputShape: number[];
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [THREADS, 1, 1];
  variableComponents: number[];
  constructor(readonly shaderKey: string, readonly variableNames: string[], readonly uniforms: string, shape: number[],
    private readonly body: string, private readonly prelude = '') {
    this.outputShape = shape;
    this.dispatchLayout = { x: shape.map((_, i) => i) };
    this.dispatch = [Math.max(1, Math.min(MAX_GROUPS, Math.ceil(size(shape) / (THREADS * 4)))), 1, 1];
    this.variableComponents = variableNames.map(() => 1);
  }
  getUserCode(): string {
    return `${this.prelude}
  fn main(index : i32) {
    let stride = i32(numWorkgroups.x) * ${THREADS};
    for (var i = index; i < uniforms.n; i = i + stride) {
      ${this.body}
    }
  }`;
  }
}
