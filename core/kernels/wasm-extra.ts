/**
 * Kernels that tfjs-backend-wasm 4.22 lacks but training needs. Registered once, only for the wasm backend.
 *
 * UnsortedSegmentSum is the gradient of `gather` (token and position embeddings). The wasm backend keeps
 * tensors in its heap, so the kernel reads inputs from the heap and writes the output there: a plain
 * scatter-add, O(N * C), tiny next to the matmuls around it.
 */
import * as tf from '@tensorflow/tfjs-core';

interface WasmBackendLike {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): tf.backend_util.TypedArray;
}

function unsortedSegmentSum(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo {
  const { x, segmentIds } = args.inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
  const numSegments = (args.attrs as { numSegments: number }).numSegments;
  const backend = args.backend as WasmBackendLike;
  if (x.dtype !== 'float32') throw new Error(`UnsortedSegmentSum (wasm): only float32 is supported, got ${x.dtype}`);
  // segmentIds has the shape of x's leading dims; every id picks a row of `inner` values.
  const outer = segmentIds.shape.reduce((a, b) => a * b, 1);
  const inner = x.shape.slice(segmentIds.shape.length).reduce((a, b) => a * b, 1);
  const out = backend.makeOutput([numSegments, ...x.shape.slice(segmentIds.shape.length)], 'float32');
  const o = backend.typedArrayFromHeap(out) as Float32Array;
  o.fill(0);
  const xs = backend.typedArrayFromHeap(x) as Float32Array;
  const ids = backend.typedArrayFromHeap(segmentIds);
  for (let i = 0; i < outer; i++) {
    const s = ids[i];
    if (s < 0 || s >= numSegments) continue; // like TensorFlow: out-of-range ids are dropped
    const src = i * inner, dst = s * inner;
    for (let j = 0; j < inner; j++) o[dst + j] += xs[src + j];
  }
  return out;
}

let registered = false;

/** Registers the missing kernels on the wasm backend (idempotent). */
export function registerWasmExtraKernels(): void {
  if (registered) return;
  registered = true;
  if (!tf.getKernel('UnsortedSegmentSum', 'wasm')) {
    tf.registerKernel({ kernelName: 'UnsortedSegmentSum', backendName: 'wasm', kernelFunc: unsortedSegmentSum as tf.KernelFunc });
  }
}
