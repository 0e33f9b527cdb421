/**
 * Kernels that tfjs-backend-wasm 4.22 lacks but training needs. Registered once, only for the wasm backend.
 *
 * Identity: tfjs-core clones every tensor it saves for the backward pass (and customGrad's save() too) through
 * the Identity kernel, which tfjs-backend-wasm implements as a copy; the cpu backend shares the data (incRef),
 * as wasm's own Reshape does. Sharing is safe because no wasm kernel writes into its inputs: 14% faster
 * training and 210 MB less heap on the mini model, and what lets a 124M LoRA fine-tune fit in the 4 GiB heap.
 *
 * QuijoteLayerNorm / QuijoteGeluNew: inference-only fused kernels (one call instead of ~11 and ~9) for
 * token-by-token decoding, where tfjs' per-kernel overhead dominates. Used only when no tape is recording.
 *
 * Unpack (tf.unstack, the per-(batch, head) attention's slices): tfjs-backend-wasm runs one Slice per output, and
 * each Slice reads its input through `readSync`, which copies the WHOLE input out of the heap (HEAPU8.slice) —
 * 24 copies of a [24, 128, 128] tensor to cut it into 24 pieces. Measured in the 124M LoRA step's profile: 23.5 %
 * of the kernel time (1.86 s of 7.9 s, 18 ms per call). This Unpack copies each slice once from a view of the heap.
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

/** tf.unstack along axis 0 (every slice contiguous): each output copied once from a view of the heap. */
function unpack(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo[] {
  const x = (args.inputs as { value: tf.TensorInfo }).value;
  const axis = (args.attrs as { axis: number }).axis;
  const rank = x.shape.length;
  if ((axis !== 0 && axis !== -rank) || x.dtype === 'string') return ORIGINAL_UNPACK!(args as unknown as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo[];
  const backend = args.backend as WasmBackendLike;
  const [n, ...inner] = x.shape;
  const size = inner.reduce((a, b) => a * b, 1);
  const outs = Array.from({ length: n }, () => backend.makeOutput(inner, x.dtype));
  // Views made after every allocation: a growing heap may replace the buffer under an older view.
  const src = backend.typedArrayFromHeap(x);
  outs.forEach((o, i) => backend.typedArrayFromHeap(o).set(src.subarray(i * size, (i + 1) * size)));
  return outs;
}
let ORIGINAL_UNPACK: tf.KernelFunc | undefined;

export function registerHeapUnpack(): void {
  const k = tf.getKernel('Unpack', 'wasm');
  if (!k || k.kernelFunc === (unpack as unknown as tf.KernelFunc)) return;
  ORIGINAL_UNPACK = k.kernelFunc;
  tf.unregisterKernel('Unpack', 'wasm');
  tf.registerKernel({ kernelName: 'Unpack', backendName: 'wasm', kernelFunc: unpack as unknown as tf.KernelFunc });
}

interface RefCounting { incRef(dataId: tf.DataId): void }

export function registerSharedIdentity(): void {
  if (tf.getKernel('Identity', 'wasm')) tf.unregisterKernel('Identity', 'wasm');
  tf.registerKernel({
    kernelName: 'Identity', backendName: 'wasm',
    kernelFunc: ({ inputs, backend }) => {
      const x = inputs.x as tf.TensorInfo;
      (backend as unknown as RefCounting).incRef(x.dataId);
      return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
    },
  });
}


/**
 * Inference-only fused kernels for the wasm backend, written in JS over the wasm heap (as core's
 * UnsortedSegmentSum): LayerNorm and gelu_new in one kernel call each instead of ~11 and ~9. They pay off
 * where tfjs' per-kernel overhead (~15-20 µs) dominates: decoding one token at a time. No gradient: callers
 * use them only when no tape is recording.
 */
function layerNormKernel(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo {
  const { x, gamma, beta } = args.inputs as { x: tf.TensorInfo; gamma: tf.TensorInfo; beta: tf.TensorInfo };
  const eps = (args.attrs as { eps: number }).eps;
  const b = args.backend as WasmBackendLike;
  const out = b.makeOutput(x.shape, 'float32');
  const xs = b.typedArrayFromHeap(x) as Float32Array, g = b.typedArrayFromHeap(gamma) as Float32Array, be = b.typedArrayFromHeap(beta) as Float32Array;
  const o = b.typedArrayFromHeap(out) as Float32Array;
  const C = x.shape[x.shape.length - 1], rows = xs.length / C;
  for (let r = 0; r < rows; r++) {
    const off = r * C;
    let mean = 0;
    for (let j = 0; j < C; j++) mean += xs[off + j];
    mean /= C;
    let v = 0;
    for (let j = 0; j < C; j++) { const d = xs[off + j] - mean; v += d * d; }
    const rstd = 1 / Math.sqrt(v / C + eps);
    for (let j = 0; j < C; j++) o[off + j] = (xs[off + j] - mean) * rstd * g[j] + be[j];
  }
  return out;
}

function geluKernel(args: { inputs: tf.NamedTensorInfoMap; backend: unknown }): tf.TensorInfo {
  const { x } = args.inputs as { x: tf.TensorInfo };
  const b = args.backend as WasmBackendLike;
  const out = b.makeOutput(x.shape, 'float32');
  const xs = b.typedArrayFromHeap(x) as Float32Array, o = b.typedArrayFromHeap(out) as Float32Array;
  const c = Math.sqrt(2 / Math.PI);
  for (let i = 0; i < xs.length; i++) { const v = xs[i]; o[i] = 0.5 * v * (1 + Math.tanh(c * (v + 0.044715 * v * v * v))); }
  return out;
}

export function registerFusedKernels(): void {
  if (!tf.getKernel('QuijoteLayerNorm', 'wasm')) tf.registerKernel({ kernelName: 'QuijoteLayerNorm', backendName: 'wasm', kernelFunc: layerNormKernel as tf.KernelFunc });
  if (!tf.getKernel('QuijoteGeluNew', 'wasm')) tf.registerKernel({ kernelName: 'QuijoteGeluNew', backendName: 'wasm', kernelFunc: geluKernel as tf.KernelFunc });
}

/**
 * True when a fused inference kernel may replace the composed op: wasm or webgpu (kernels/webgpu-fused.ts),
 * registered there, and no tape recording.
 */
export function canFuse(name: string): boolean {
  const b = tf.getBackend();
  return (b === 'wasm' || b === 'webgpu') && !!tf.getKernel(name, b) && !(tf.engine() as unknown as { isTapeOn(): boolean }).isTapeOn();
}

let registered = false;

/** Registers the missing kernels on the wasm backend (idempotent). */
export function registerWasmExtraKernels(): void {
  if (registered) return;
  registered = true;
  registerSharedIdentity();
  registerHeapUnpack();
  registerFusedKernels();
  if (!tf.getKernel('UnsortedSegmentSum', 'wasm')) {
    tf.registerKernel({ kernelName: 'UnsortedSegmentSum', backendName: 'wasm', kernelFunc: unsortedSegmentSum as tf.KernelFunc });
  }
}
