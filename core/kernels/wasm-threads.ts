/**
 * tfjs-backend-wasm's threaded SIMD build under Node.
 *
 * tfjs-backend-wasm 4.22 never uses its threaded build in Node: the WASM_HAS_MULTITHREAD_SUPPORT flag returns
 * false when IS_NODE, and forcing the flag to true fails at `setBackend('wasm')` because tfjs hands Emscripten
 * the pthread worker script as a `blob:` URL, which Node's worker_threads rejects (ERR_WORKER_PATH).
 *
 * This module builds the Emscripten module itself, with what Node accepts: the worker script (tfjs ships its
 * text as `wasmWorkerContents`) written to a file, and the main script given as a file path, then registers
 * a `wasm` backend factory that wraps that module in tfjs' own BackendWasm class. Every wasm kernel, and
 * XNNPACK's thread pool, then work as in a browser with cross-origin isolation.
 *
 * Call before anything initialises the wasm backend (before initBackend / setBackend).
 */
import * as tf from '@tensorflow/tfjs-core';
import { mkdirSync, writeFileSync, existsSync, renameSync } from 'node:fs';
import { createRequire } from 'node:module';
import os, { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

interface EmscriptenModule {
  cwrap(name: string, ret: string | null, args: string[]): (...a: unknown[]) => unknown;
  [k: string]: unknown;
}
type Factory = (cfg: Record<string, unknown>) => Promise<EmscriptenModule>;

export interface ThreadsResult { ok: boolean; threads: number | null; error?: string }

/** Registers a `wasm` backend built on the threaded SIMD binary with `threads` XNNPACK threads. */
export async function useThreadedWasm(threads: number): Promise<void> {
  const require = createRequire(import.meta.url);
  const wasmPkg = await import('@tensorflow/tfjs-backend-wasm');
  const out = join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm')), '..', 'wasm-out');
  const factory = require(join(out, 'tfjs-backend-wasm-threaded-simd.js')) as Factory;
  const { wasmWorkerContents } = require(join(out, 'tfjs-backend-wasm-threaded-simd.worker.js')) as { wasmWorkerContents: string };
  const dir = join(tmpdir(), `quijote-tfjs-wasm-${wasmPkg.version_wasm}-1`);
  const worker = join(dir, 'tfjs-backend-wasm-threaded-simd.worker.cjs');
  if (!existsSync(worker)) {
    mkdirSync(dir, { recursive: true });
    // As tfjs does before making its Blob: the shipped text holds raw newlines inside string literals.
    const tmp = `${worker}.${process.pid}.tmp`; // atomic: several processes may start at once
    writeFileSync(tmp, wasmWorkerContents.replace(/\n/g, '\\n'));
    renameSync(tmp, worker);
  }
  wasmPkg.setThreadsCount(threads);
  tf.removeBackend('wasm');
  tf.registerBackend('wasm', async () => {
    // backend.cc caps the pool at emscripten_num_logical_cores() / 2 (it assumes 2 hyper-threads per core),
    // and under Node that is os.cpus().length / 2, read once by a static initializer while the module starts:
    // 1 thread on a 2-vCPU machine. Report twice the CPUs during start-up so the cap is the CPU count.
    const cpus = os.cpus;
    os.cpus = () => { const c = cpus(); return [...c, ...c]; };
    let module: EmscriptenModule;
    try {
      module = await factory({
        locateFile: (path: string) => (path.endsWith('.worker.js') ? worker : join(out, path)),
        mainScriptUrlOrBlob: join(out, 'tfjs-backend-wasm-threaded-simd.js'),
      });
    } finally {
      os.cpus = cpus;
    }
    // The same bridge tfjs' own init() installs (backend_wasm.ts).
    module.tfjs = {
      init: module.cwrap('init', null, []),
      initWithThreadsCount: module.cwrap('init_with_threads_count', null, ['number']),
      getThreadsCount: module.cwrap('get_threads_count', 'number', []),
      registerTensor: module.cwrap('register_tensor', null, ['number', 'number', 'number']),
      disposeData: module.cwrap('dispose_data', null, ['number']),
      dispose: module.cwrap('dispose', null, []),
    };
    const backend = new wasmPkg.BackendWasm(module as never); // starts XNNPACK's pool (pthread_create)
    // Emscripten's pthread workers are ref'ed worker_threads: unref them so they do not keep Node alive.
    const pt = module.PThread as { unusedWorkers: Array<{ unref?(): void }>; runningWorkers: Array<{ unref?(): void }> } | undefined;
    for (const w of [...(pt?.unusedWorkers ?? []), ...(pt?.runningWorkers ?? [])]) w.unref?.();
    return backend;
  }, 2);
}
