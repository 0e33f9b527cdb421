/**
 * Draws pictures on a worker thread, so that a chart (tens to hundreds of milliseconds of pixel work on a busy
 * CPU) never stalls the bot's event loop. One lazily started worker, unref'd (it never keeps the process alive);
 * if it dies, the next picture starts a new one.
 */
import { Worker } from 'node:worker_threads';
import type { PictureName, renderers } from './renderers.ts';

type Pending = { resolve(png: Buffer): void; reject(e: Error): void };

let worker: Worker | undefined;
let seq = 0;
const pending = new Map<number, Pending>();

function failAll(error: Error): void {
  for (const p of pending.values()) p.reject(error);
  pending.clear();
}

function ensureWorker(): Worker {
  if (worker) return worker;
  const w = new Worker(new URL('./render-worker.mjs', import.meta.url));
  w.unref();
  w.on('message', (m: { id: number; png?: Uint8Array; error?: string }) => {
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    if (m.png) p.resolve(Buffer.from(m.png.buffer, m.png.byteOffset, m.png.byteLength));
    else p.reject(new Error(`could not draw the picture: ${m.error}`));
    if (pending.size === 0) w.unref();
  });
  w.on('error', (e) => failAll(e));
  w.on('exit', (code) => {
    if (worker === w) worker = undefined;
    if (pending.size > 0) failAll(new Error(`the picture worker stopped (exit code ${code})`));
  });
  worker = w;
  return w;
}

/** The PNG of `renderers[name](...args)`, drawn on the worker thread. */
export function renderOffThread<N extends PictureName>(name: N, ...args: Parameters<(typeof renderers)[N]>): Promise<Buffer> {
  const w = ensureWorker();
  const id = ++seq;
  return new Promise<Buffer>((resolve, reject) => {
    pending.set(id, { resolve, reject });
    w.ref(); // keep the process alive until the picture comes back
    w.postMessage({ id, name, args });
  });
}
