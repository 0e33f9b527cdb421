/**
 * Chooses the TensorFlow.js backend at start-up, fastest first:
 *   tensorflow (tfjs-node-gpu, then tfjs-node) → webgpu (Dawn via the `webgpu` package) → wasm → cpu.
 * Optional packages are imported only when present. The caller passes the requested backend (from config)
 * and a logger; this module never reads the environment itself.
 */
import * as tf from '@tensorflow/tfjs-core';
import { existsSync } from 'node:fs';
import { QuijoteError } from './errors.ts';
import { registerWasmExtraKernels } from './kernels/wasm-extra.ts';
import { registerGradients } from './kernels/gradients.ts';
import { useThreadedWasm } from './kernels/wasm-threads.ts';
import { guardWasmHeap } from './kernels/wasm-heap.ts';

export type BackendName = 'tensorflow' | 'webgpu' | 'wasm' | 'cpu';
export type BackendRequest = BackendName | 'auto';

export interface BackendInfo {
  name: BackendName;
  reason: string; // why this one (shown once in the log)
  detail?: string; // adapter or library description
}

type Log = (line: string) => void;

interface Attempt { ok: boolean; reason: string; detail?: string }

/** Directories where CUDA 11.2 / cuDNN 8.1 (what tfjs-node-gpu 4.x links against) are usually found. */
function cudaLibsPresent(libraryPath: string | undefined): boolean {
  const dirs = [...(libraryPath ?? '').split(':').filter(Boolean), '/usr/local/cuda/lib64', '/usr/lib/x86_64-linux-gnu', '/usr/local/cuda-11.2/lib64'];
  const has = (name: string) => dirs.some((d) => existsSync(`${d}/${name}`));
  return has('libcudart.so.11.0') && has('libcudnn.so.8');
}

async function tryTensorflow(log: Log, libraryPath: string | undefined): Promise<Attempt> {
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      await import(pkg);
    } catch {
      continue;
    }
    if (!(await tf.setBackend('tensorflow'))) continue;
    if (pkg.endsWith('-gpu') && !cudaLibsPresent(libraryPath)) {
      log('⚠️  ATENCIÓN: @tensorflow/tfjs-node-gpu está instalado pero no se encuentran CUDA 11.2 (libcudart.so.11.0) ni cuDNN 8.1 (libcudnn.so.8): TensorFlow caerá en silencio a la CPU. Instala CUDA 11.2 + cuDNN 8.1 o usa --backend webgpu.');
      return { ok: true, reason: `${pkg} (¡sin CUDA/cuDNN: corre en CPU!)`, detail: pkg };
    }
    return { ok: true, reason: `${pkg} cargado`, detail: pkg };
  }
  return { ok: false, reason: 'ni @tensorflow/tfjs-node-gpu ni @tensorflow/tfjs-node están instalados' };
}

/** On Linux Dawn needs the Vulkan loader; without it, skip WebGPU quietly instead of letting Dawn print a warning. */
function vulkanLoaderPresent(libraryPath: string | undefined): boolean {
  if (process.platform !== 'linux') return true;
  const dirs = [...(libraryPath ?? '').split(':').filter(Boolean), '/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/lib/x86_64-linux-gnu', '/usr/local/lib'];
  return dirs.some((d) => existsSync(`${d}/libvulkan.so.1`));
}

async function tryWebgpu(libraryPath: string | undefined, tiledMatmul: boolean, log: Log): Promise<Attempt> {
  if (!vulkanLoaderPresent(libraryPath)) return { ok: false, reason: 'sin cargador Vulkan (libvulkan.so.1), necesario para WebGPU en Linux' };
  let webgpu: { create(flags: string[]): unknown; globals: Record<string, unknown> };
  try {
    webgpu = (await import('webgpu' as string)) as typeof webgpu;
  } catch {
    return { ok: false, reason: 'el paquete opcional `webgpu` no está instalado' };
  }
  Object.assign(globalThis, webgpu.globals);
  const gpu = webgpu.create([]) as { requestAdapter(o: object): Promise<null | { info?: Record<string, string>; features: Set<string>; constructor: { prototype: { requestDevice: (d?: { requiredFeatures?: unknown }) => unknown } } }> };
  Object.defineProperty(globalThis, 'navigator', { value: { gpu, userAgent: 'node' }, configurable: true });
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) return { ok: false, reason: 'WebGPU sin adaptador (no hay GPU; Dawn rechaza Vulkan por CPU)' };
  // tfjs asks for features the adapter may not have: keep only the ones it has.
  const proto = adapter.constructor.prototype;
  const original = proto.requestDevice;
  proto.requestDevice = function (this: { features: Set<string> }, d: { requiredFeatures?: unknown } = {}) {
    if (d.requiredFeatures) d.requiredFeatures = [...(d.requiredFeatures as Iterable<string>)].flat().filter((f) => this.features.has(f));
    return original.call(this, d);
  };
  try {
    await import('@tensorflow/tfjs-backend-webgpu' as string);
  } catch {
    return { ok: false, reason: 'falta @tensorflow/tfjs-backend-webgpu' };
  }
  if (!(await tf.setBackend('webgpu'))) return { ok: false, reason: 'tfjs no pudo iniciar WebGPU' };
  watchGpuErrors();
  (await import('./kernels/webgpu-fused.ts')).registerWebgpuFusedKernels();
  const info = adapter.info ?? {};
  let matmul = 'matmul de tfjs';
  if (tiledMatmul) {
    // Our 128×128-tiled BatchMatMul (kernels/webgpu-matmul.ts), only after it agrees with tfjs' on this device.
    const { registerWebgpuMatmul, selfCheckWebgpuMatmul } = await import('./kernels/webgpu-matmul.ts');
    const err = await selfCheckWebgpuMatmul();
    if (err < 1e-4) { registerWebgpuMatmul(); matmul = 'matmul en teselas 128×128'; }
    else log(`⚠️  el matmul en teselas no coincide con el de tfjs en este dispositivo (error relativo ${err.toExponential(2)}): sigo con el de tfjs`);
  }
  return { ok: true, reason: `GPU por WebGPU, ${matmul}`, detail: [info.vendor, info.architecture, info.description].filter(Boolean).join(' ') };
}

const gpuErrors: string[] = [];
let gpuErrorsSeen = 0;

/**
 * Dawn reports a failed shader or dispatch as an "uncaptured error" and tfjs carries on with garbage: record
 * them so the trainer and generation can stop with GPU_ERROR instead of training on wrong numbers.
 */
function watchGpuErrors(): void {
  const device = (tf.backend() as unknown as { device?: { onuncapturederror: unknown } }).device;
  if (!device) return;
  device.onuncapturederror = (ev: { error?: { message?: string } }) => {
    gpuErrors.push(String(ev.error?.message ?? ev).split('\n')[0]);
  };
}

/** WebGPU errors since the backend started (empty on other backends). */
export const webgpuErrors = (): readonly string[] => gpuErrors;

/** Throws GPU_ERROR if the GPU reported an error since the last check. */
export function checkGpuErrors(): void {
  if (gpuErrors.length === gpuErrorsSeen) return;
  const first = gpuErrors[gpuErrorsSeen];
  const n = gpuErrors.length - gpuErrorsSeen;
  gpuErrorsSeen = gpuErrors.length;
  throw new QuijoteError('GPU_ERROR', `La GPU (WebGPU) rechazó ${n} operación(es): ${first}`, {
    hint: 'Los resultados no serían fiables. Prueba WEBGPU_MATMUL=tfjs o --backend wasm, y avisa del error.',
  });
}

/**
 * wasm with `threads` XNNPACK threads (the threaded SIMD build, started the way Node accepts: see
 * kernels/wasm-threads.ts); if that cannot start, the single-threaded build.
 */
async function tryWasm(threads: number, log: Log): Promise<Attempt> {
  await import('@tensorflow/tfjs-backend-wasm');
  registerWasmExtraKernels();
  if (threads > 1) {
    const registry = (tf.engine() as unknown as { registryFactory: Record<string, { factory: () => unknown; priority: number }> }).registryFactory;
    const single = registry.wasm;
    try {
      await useThreadedWasm(threads);
      if (await tf.setBackend('wasm')) return guarded({ ok: true, reason: `CPU con WebAssembly (SIMD, ${threads} hilos)` });
    } catch (e) {
      log(`wasm con hilos no disponible (${(e as Error).message.split('\n')[0]}); sigo con 1 hilo`);
    }
    tf.removeBackend('wasm');
    tf.registerBackend('wasm', single.factory as never, single.priority);
  }
  if (!(await tf.setBackend('wasm'))) return { ok: false, reason: 'tfjs-backend-wasm no pudo iniciarse' };
  return guarded({ ok: true, reason: 'CPU con WebAssembly (SIMD, 1 hilo)' });
}

/** Near its 4 GiB ceiling the wasm heap hangs instead of failing: make it fail (kernels/wasm-heap.ts). */
function guarded(a: Attempt): Attempt {
  guardWasmHeap((tf.backend() as unknown as { wasm: Parameters<typeof guardWasmHeap>[0] }).wasm);
  return a;
}

async function tryCpu(): Promise<Attempt> {
  await import('@tensorflow/tfjs-backend-cpu');
  if (!(await tf.setBackend('cpu'))) return { ok: false, reason: 'tfjs-backend-cpu no pudo iniciarse' };
  return { ok: true, reason: 'CPU en JavaScript puro (lento)' };
}

let current: BackendInfo | null = null;

export interface BackendOptions {
  request?: BackendRequest;
  log?: Log;
  /** LD_LIBRARY_PATH, passed in by the edge, used to detect CUDA for tfjs-node-gpu. */
  libraryPath?: string;
  /** XNNPACK threads for the wasm backend (1: the single-threaded build). */
  wasmThreads?: number;
  /** WebGPU: our tiled matmul (true, the default) or tfjs' own (false). */
  webgpuTiledMatmul?: boolean;
}

/**
 * Initialise TensorFlow.js once. `auto` tries tensorflow → webgpu → wasm → cpu; an explicit request that
 * cannot start is an error (it says why and what to use instead).
 */
export async function initBackend(options: BackendOptions = {}): Promise<BackendInfo> {
  const request = options.request ?? 'auto';
  const log = options.log ?? (() => {});
  tf.env().set('PROD', true); // no debug checks, no "install tfjs-node" banner
  registerGradients();
  if (current && (request === 'auto' || request === current.name)) return current;
  const order: BackendName[] = request === 'auto' ? ['tensorflow', 'webgpu', 'wasm', 'cpu'] : [request];
  const skipped: string[] = [];
  for (const name of order) {
    let attempt: Attempt;
    try {
      attempt = name === 'tensorflow' ? await tryTensorflow(log, options.libraryPath)
        : name === 'webgpu' ? await tryWebgpu(options.libraryPath, options.webgpuTiledMatmul ?? true, log)
        : name === 'wasm' ? await tryWasm(options.wasmThreads ?? 1, log)
        : await tryCpu();
    } catch (e) {
      attempt = { ok: false, reason: (e as Error).message.split('\n')[0] };
    }
    if (attempt.ok) {
      await tf.ready();
      const why = skipped.length ? `${attempt.reason}; descartados: ${skipped.join('; ')}` : attempt.reason;
      current = { name, reason: why, detail: attempt.detail };
      log(`backend: ${name} (${why})${attempt.detail ? ` — ${attempt.detail}` : ''}`);
      return current;
    }
    skipped.push(`${name}: ${attempt.reason}`);
  }
  throw new QuijoteError('BACKEND_UNAVAILABLE', `No se pudo iniciar el backend «${request}»: ${skipped.join('; ')}.`, {
    hint: 'Usa --backend wasm (funciona en cualquier CPU) o instala el paquete que falta.',
  });
}

export function currentBackend(): BackendInfo | null {
  return current;
}
