/**
 * A faster BatchMatMul for tfjs-backend-webgpu, registered over tfjs' own for the shapes a GPT-2 step is made of.
 *
 * tfjs 4.22 tiles every matmul 32×32 with 64 threads of 4×4 outputs, and a product with transposeB (x·Wᵀ: the LM
 * head, and every input gradient dX = dY·Wᵀ) falls to its scalar path. This kernel tiles 128×128 with 256
 * threads of 8×8 outputs over K-slices of 16 held in workgroup memory (16 KiB: WebGPU's default limit), reading
 * A and B as stored (plain or transposed) and staging them in the same layout, so the inner loop is the same
 * 4 vec4 loads + 64 FMAs for every transpose combination. Batched products (attention) run one z-slice per batch;
 * a batch of 1 broadcasts. Small products (decoding: M = 1, LoRA's rank-8 factors) stay with tfjs, whose
 * reduce/vector programs suit them better.
 *
 * Enabled by `registerWebgpuMatmul()` after a self-check against tfjs' kernel on random data at init
 * (core/backend.ts); WEBGPU_MATMUL=tfjs (config) keeps tfjs' kernel.
 */
import * as tf from '@tensorflow/tfjs-core';
import { asTensor, size, webgpuBackend, type TensorInfo, type WebGPUBackendLike } from './webgpu-program.ts';

const TILE = 128; // output rows and columns per workgroup
const BK = 16; // K-slice staged in workgroup memory
const SLOTS = (TILE / 4) * BK; // vec4 slots per staged tile (512); 256 threads fill 2 each

/** WGSL for one tile slot load: 4 consecutive rows (A) or columns (B) of the tile at one k, as a vec4. */
function loadSnippet(which: 'A' | 'B', transposed: boolean): string {
  // A plain [M, K] / B transposed [N, K]: the 4 values are 4 rows apart by K; consecutive threads take consecutive k.
  // A transposed [K, M] / B plain [K, N]: the 4 values are contiguous; consecutive threads take consecutive quads.
  const outer = which === 'A' ? 'M' : 'N';
  const base = which === 'A' ? 'row0' : 'col0';
  const off = which === 'A' ? 'aOff' : 'bOff';
  const strided = which === 'A' ? !transposed : transposed;
  const lines = strided
    ? `let k = s % ${BK}; let q = s / ${BK};
       let r = ${base} + q * 4; let kk = k0 + k;
       var v = vec4<f32>(0.0);
       if (kk < uniforms.K) {
         if (r < uniforms.${outer}) { v.x = ${which}[${off} + r * uniforms.K + kk]; }
         if (r + 1 < uniforms.${outer}) { v.y = ${which}[${off} + (r + 1) * uniforms.K + kk]; }
         if (r + 2 < uniforms.${outer}) { v.z = ${which}[${off} + (r + 2) * uniforms.K + kk]; }
         if (r + 3 < uniforms.${outer}) { v.w = ${which}[${off} + (r + 3) * uniforms.K + kk]; }
       }`
    : `let q = s % ${TILE / 4}; let k = s / ${TILE / 4};
       let r = ${base} + q * 4; let kk = k0 + k;
       var v = vec4<f32>(0.0);
       if (kk < uniforms.K) {
         let p = ${off} + kk * uniforms.${outer} + r;
         if (r < uniforms.${outer}) { v.x = ${which}[p]; }
         if (r + 1 < uniforms.${outer}) { v.y = ${which}[p + 1]; }
         if (r + 2 < uniforms.${outer}) { v.z = ${which}[p + 2]; }
         if (r + 3 < uniforms.${outer}) { v.w = ${which}[p + 3]; }
       }`;
  return `for (var i = 0; i < ${SLOTS / 256}; i++) {
       let s = tid + i * 256;
       ${lines}
       ${which}s[k * ${TILE / 4} + q] = v;
     }`;
}

class TiledMatMulProgram {
  variableNames = ['A', 'B'];
  uniforms = 'M : i32, N : i32, K : i32, aBatch : i32, bBatch : i32,';
  outputShape: number[];
  dispatchLayout = { x: [2], y: [1], z: [0] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [16, 16, 1];
  variableComponents = [1, 1];
  outputComponent = 1;
  shaderKey: string;

  constructor(batch: number, M: number, N: number, private readonly transposeA: boolean, private readonly transposeB: boolean) {
    this.outputShape = [batch, M, N];
    this.dispatch = [Math.ceil(N / TILE), Math.ceil(M / TILE), batch];
    this.shaderKey = `quijoteTiledMatMul_${transposeA}_${transposeB}`;
  }

  getUserCode(): string {
    const fmaRow = (a: string, comp: string, i: number) =>
      `acc[${2 * i}] = fma(vec4<f32>(${a}.${comp}), b0, acc[${2 * i}]); acc[${2 * i + 1}] = fma(vec4<f32>(${a}.${comp}), b1, acc[${2 * i + 1}]);`;
    const comps = ['x', 'y', 'z', 'w'];
    const inner = [...comps.map((c, i) => fmaRow('a0', c, i)), ...comps.map((c, i) => fmaRow('a1', c, i + 4))].join('\n        ');
    return `
  var<workgroup> As : array<vec4<f32>, ${SLOTS}>; // As[k * 32 + q] = A(row0 + 4q .. 4q + 3, k0 + k)
  var<workgroup> Bs : array<vec4<f32>, ${SLOTS}>; // Bs[k * 32 + q] = B(k0 + k, col0 + 4q .. 4q + 3)

  fn writeRow(base : i32, row : i32, col : i32, v : vec4<f32>) {
    if (row >= uniforms.M) { return; }
    let p = base + row * uniforms.N + col;
    if (col < uniforms.N) { result[p] = v.x; }
    if (col + 1 < uniforms.N) { result[p + 1] = v.y; }
    if (col + 2 < uniforms.N) { result[p + 2] = v.z; }
    if (col + 3 < uniforms.N) { result[p + 3] = v.w; }
  }

  fn main() {
    let tx = i32(localId.x);
    let ty = i32(localId.y);
    let tid = ty * 16 + tx;
    let batch = i32(workgroupId.z);
    let aOff = select(batch, 0, uniforms.aBatch == 1) * uniforms.M * uniforms.K;
    let bOff = select(batch, 0, uniforms.bBatch == 1) * uniforms.K * uniforms.N;
    let row0 = i32(workgroupId.y) * ${TILE};
    let col0 = i32(workgroupId.x) * ${TILE};
    var acc : array<vec4<f32>, 16>;
    for (var i = 0; i < 16; i++) { acc[i] = vec4<f32>(0.0); }
    for (var k0 = 0; k0 < uniforms.K; k0 = k0 + ${BK}) {
      ${loadSnippet('A', this.transposeA)}
      ${loadSnippet('B', this.transposeB)}
      workgroupBarrier();
      for (var k = 0; k < ${BK}; k++) {
        let a0 = As[k * ${TILE / 4} + ty];
        let a1 = As[k * ${TILE / 4} + 16 + ty];
        let b0 = Bs[k * ${TILE / 4} + tx];
        let b1 = Bs[k * ${TILE / 4} + 16 + tx];
        ${inner}
      }
      workgroupBarrier();
    }
    let base = batch * uniforms.M * uniforms.N;
    for (var i = 0; i < 4; i++) {
      writeRow(base, row0 + ty * 4 + i, col0 + tx * 4, acc[2 * i]);
      writeRow(base, row0 + ty * 4 + i, col0 + 64 + tx * 4, acc[2 * i + 1]);
      writeRow(base, row0 + 64 + ty * 4 + i, col0 + tx * 4, acc[2 * (i + 4)]);
      writeRow(base, row0 + 64 + ty * 4 + i, col0 + 64 + tx * 4, acc[2 * (i + 4) + 1]);
    }
  }`;
  }
}

/** The product's sizes: a [..., M, K] (or [..., K, M]) times b [..., K, N] (or [..., N, K]), leading axes as batches. */
function productShape(a: TensorInfo, b: TensorInfo, transposeA: boolean, transposeB: boolean) {
  const ra = a.shape.length, rb = b.shape.length;
  return {
    M: transposeA ? a.shape[ra - 1] : a.shape[ra - 2],
    K: transposeA ? a.shape[ra - 2] : a.shape[ra - 1],
    N: transposeB ? b.shape[rb - 2] : b.shape[rb - 1],
    batchA: size(a.shape.slice(0, -2)), batchB: size(b.shape.slice(0, -2)),
  };
}

/**
 * Whether the tiled kernel takes this product (else tfjs' own runs it): float32, a batch that matches or
 * broadcasts, and at least MIN_TILES 128×128 tiles. Fewer workgroups than that leave most of a large GPU idle
 * (an H200 has 132 multiprocessors), where tfjs' 32×32 tiles spread wider: measured on an H200 at batch 2 × 128
 * (256 rows), tfjs' kernel was the faster one for everything but the LM head.
 */
export const MIN_TILES = 128;
export function tiledMatmulApplies(M: number, N: number, K: number, batchA: number, batchB: number, dtype: string): boolean {
  if (dtype !== 'float32') return false;
  if (batchA !== batchB && batchA !== 1 && batchB !== 1) return false;
  const tiles = Math.ceil(M / TILE) * Math.ceil(N / TILE) * Math.max(batchA, batchB);
  return M >= 32 && N >= 32 && K >= 16 && tiles >= MIN_TILES;
}

type KernelFunc = (args: { inputs: Record<string, TensorInfo>; backend: unknown; attrs: Record<string, unknown> }) => TensorInfo;

let original: KernelFunc | null = null;

/** Runs a BatchMatMul through the tiled program (inputs of any rank ≥ 2, leading axes as the batch). */
export function tiledMatMul(a: TensorInfo, b: TensorInfo, transposeA: boolean, transposeB: boolean, backend: WebGPUBackendLike): TensorInfo {
  const { M, K, N, batchA, batchB } = productShape(a, b, transposeA, transposeB);
  const lead = (batchA >= batchB ? a : b).shape.slice(0, -2);
  const batch = Math.max(batchA, batchB);
  const program = new TiledMatMulProgram(batch, M, N, transposeA, transposeB);
  const out = backend.runWebGPUProgram(program, [a, b], 'float32', [
    { type: 'int32', data: [M] }, { type: 'int32', data: [N] }, { type: 'int32', data: [K] },
    { type: 'int32', data: [batchA] }, { type: 'int32', data: [batchB] },
  ]);
  return { dataId: out.dataId, shape: [...lead, M, N], dtype: out.dtype }; // same buffer, the caller's rank
}

/** Replaces tfjs-backend-webgpu's BatchMatMul with one that sends the shapes above to the tiled program. */
export function registerWebgpuMatmul(): void {
  if (original) return;
  const config = tf.getKernel('BatchMatMul', 'webgpu');
  if (!config) throw new Error('tfjs-backend-webgpu has no BatchMatMul kernel to replace');
  original = config.kernelFunc as unknown as KernelFunc;
  const fallback = original;
  tf.unregisterKernel('BatchMatMul', 'webgpu');
  tf.registerKernel({
    ...config,
    kernelFunc: ((args: Parameters<KernelFunc>[0]) => {
      const { a, b } = args.inputs;
      const transposeA = Boolean(args.attrs.transposeA), transposeB = Boolean(args.attrs.transposeB);
      const { M, K, N, batchA, batchB } = productShape(a, b, transposeA, transposeB);
      const sameLead = a.shape.length === b.shape.length || batchA === 1 || batchB === 1;
      if (!sameLead || !tiledMatmulApplies(M, N, K, batchA, batchB, a.dtype) || b.dtype !== 'float32') return fallback(args);
      return tiledMatMul(a, b, transposeA, transposeB, webgpuBackend(args.backend));
    }) as unknown as tf.KernelFunc,
  });
}

/** a·b (optionally transposed) through the tiled program whatever the size: for checks and tests. */
export function tiledMatMulTensor(a: tf.Tensor, b: tf.Tensor, transposeA = false, transposeB = false): tf.Tensor {
  return asTensor(tiledMatMul(a as unknown as TensorInfo, b as unknown as TensorInfo, transposeA, transposeB, webgpuBackend()));
}

export const isWebgpuMatmulRegistered = (): boolean => original !== null;

/**
 * Compares the tiled kernel with tfjs' on random products covering every transpose combination, ragged edges
 * and a broadcast batch; returns the worst relative error (‖Δ‖∞ / ‖ref‖∞). Run with tfjs' kernel registered.
 */
export async function selfCheckWebgpuMatmul(seed = 7): Promise<number> {
  const cases: Array<[number[], number[], boolean, boolean]> = [
    [[130, 70], [70, 200], false, false],
    [[70, 130], [70, 200], true, false],
    [[130, 70], [200, 70], false, true],
    [[70, 130], [200, 70], true, true],
    [[3, 33, 40], [3, 40, 129], false, false],
    [[2, 3, 64, 48], [2, 3, 64, 48], false, true],
    [[4, 50, 36], [36, 60], false, false],
  ];
  let worst = 0;
  for (const [sa, sb, ta, tb] of cases) {
    const a = tf.randomNormal(sa, 0, 1, 'float32', seed++), b = tf.randomNormal(sb, 0, 1, 'float32', seed++);
    const ref = tf.matMul(a, b, ta, tb);
    const got = tiledMatMulTensor(a, b, ta, tb);
    const [r, d] = await Promise.all([ref.data(), got.data()]);
    let maxRef = 0, maxDiff = 0;
    for (let i = 0; i < r.length; i++) { maxRef = Math.max(maxRef, Math.abs(r[i])); maxDiff = Math.max(maxDiff, Math.abs(r[i] - d[i])); }
    if (d.length !== r.length || !Number.isFinite(maxDiff)) maxDiff = Infinity;
    worst = Math.max(worst, maxDiff / (maxRef || 1));
    tf.dispose([a, b, ref, got]);
  }
  return worst;
}
