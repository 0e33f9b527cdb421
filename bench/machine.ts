/**
 * What the bench records about the machine, the backend and memory: CPU model and count, total memory, Node
 * version, load average; tfjs' tensor counts, the wasm heap size, and the process' current and peak RSS.
 */
import * as tf from '@tensorflow/tfjs-core';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import type { BackendInfo } from '../core/backend.ts';

export interface MemorySnapshot {
  num_tensors: number;
  num_bytes: number; // bytes held by live tensors (tf.memory().numBytes)
  wasm_heap_bytes: number | null; // size of the wasm linear memory (never shrinks)
  rss_mb: number;
  peak_rss_mb: number; // VmHWM, or process.resourceUsage().maxRSS where /proc is absent
}

export interface MachineInfo {
  hostname: string;
  platform: string;
  cpu_model: string;
  cpu_count: number;
  total_memory_gb: number;
  node: string;
  load_average: number[];
}

export interface BackendRecord {
  name: string;
  reason: string;
  detail: string | null; // adapter (webgpu) or library (tensorflow)
  wasm_threads: number | null;
}

const MB = 1024 * 1024;

/** Fields of /proc/self/status in MB (VmRSS, VmHWM); null off Linux. */
function procStatus(): { rss: number; hwm: number } | null {
  try {
    const s = readFileSync('/proc/self/status', 'utf8');
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? NaN);
    return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
  } catch {
    return null;
  }
}

export function wasmHeapBytes(): number | null {
  if (tf.getBackend() !== 'wasm') return null;
  const b = tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } };
  return b.wasm?.HEAPU8?.byteLength ?? null;
}

export function memorySnapshot(): MemorySnapshot {
  const m = tf.memory();
  const p = procStatus();
  const round = (x: number) => Math.round(x * 10) / 10;
  return {
    num_tensors: m.numTensors,
    num_bytes: m.numBytes,
    wasm_heap_bytes: wasmHeapBytes(),
    rss_mb: round(p?.rss ?? process.memoryUsage().rss / MB),
    peak_rss_mb: round(p?.hwm ?? process.resourceUsage().maxRSS / 1024),
  };
}

/** Resets the kernel's peak-RSS counter (Linux: `5` into /proc/self/clear_refs); false where unsupported. */
export function resetPeakRss(): boolean {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    hostname: os.hostname(),
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    cpu_model: cpus[0]?.model.trim() ?? 'unknown',
    cpu_count: cpus.length,
    total_memory_gb: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    load_average: os.loadavg().map((x) => Math.round(x * 100) / 100),
  };
}

export async function backendRecord(info: BackendInfo): Promise<BackendRecord> {
  let threads: number | null = null;
  if (info.name === 'wasm') {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    threads = wasm.getThreadsCount();
  }
  return { name: info.name, reason: info.reason, detail: info.detail ?? null, wasm_threads: threads };
}
