/**
 * Runs ../shared/bench/torch_reference.py (Debian's python3-torch via /usr/bin/python3) for the same
 * workloads, one at a time, never beside our own runs. Records which BLAS torch loaded: Debian's torch uses
 * whatever libblas.so.3 the system provides — the reference netlib BLAS unless OpenBLAS is installed (or put
 * first on LD_LIBRARY_PATH), a 20× difference in matmul speed.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The python3 that has torch: Debian's by default; QUIJOTE_BENCH_PYTHON elsewhere (a GPU machine's venv). */
export const PYTHON = process.env.QUIJOTE_BENCH_PYTHON ?? '/usr/bin/python3';
/** Where torch runs: cpu (torch_reference.py as written) or a GPU through bench/torch_device.py. */
export const TORCH_DEVICE = process.env.QUIJOTE_BENCH_TORCH_DEVICE ?? 'cpu';
const WRAPPER = join(dirname(fileURLToPath(import.meta.url)), 'torch_device.py');

export interface TorchInfo {
  available: boolean;
  note?: string;
  version?: string;
  threads?: number;
  blas?: string; // path of the BLAS library torch loaded
  device?: string; // 'cpu', or the GPU's name
}

export interface TorchRun { ok: boolean; result?: Record<string, unknown>; error?: string; seconds: number }

const PROBE = `
import json, os, torch
torch.set_num_threads(int(os.environ.get("TORCH_THREADS", os.cpu_count() or 1)))  # as torch_reference.py
a = torch.randn(64, 64); a @ a
maps = open('/proc/self/maps').read().split('\\n')
libs = sorted({l.split()[-1] for l in maps if 'blas' in l.lower() and '/' in l})
dev = os.environ.get('QUIJOTE_BENCH_TORCH_DEVICE', 'cpu')
name = torch.cuda.get_device_name(0) + ' (fp32, TF32 off)' if dev.startswith('cuda') else 'cpu'
print(json.dumps({'version': torch.__version__, 'threads': torch.get_num_threads(), 'blas': ', '.join(libs) or 'unknown', 'device': name}))
`;

export function torchInfo(script: string): TorchInfo {
  if (!existsSync(script)) return { available: false, note: `${script} no existe (define QUIJOTE_SHARED)` };
  if (!existsSync(PYTHON)) return { available: false, note: `${PYTHON} no existe` };
  const r = spawnSync(PYTHON, ['-c', PROBE], { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) return { available: false, note: `torch no está instalado para ${PYTHON} (apt-get install python3-torch): ${(r.stderr || '').trim().split('\n').pop()}` };
  const p = JSON.parse(r.stdout.trim().split('\n').pop()!) as { version: string; threads: number; blas: string; device: string };
  return { available: true, ...p };
}

/** One torch_reference.py command; its last stdout line is JSON. */
export function runTorch(script: string, args: string[], timeoutMs = 30 * 60_000): TorchRun {
  const t0 = performance.now();
  const argv = TORCH_DEVICE === 'cpu' ? [script, ...args] : [WRAPPER, TORCH_DEVICE, script, ...args];
  const r = spawnSync(PYTHON, argv, { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 16 << 20 });
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) return { ok: false, error: (r.stderr || r.error?.message || `exit ${r.status}`).trim().split('\n').slice(-3).join(' | '), seconds };
  try {
    return { ok: true, result: JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, unknown>, seconds };
  } catch {
    return { ok: false, error: `salida inesperada: ${r.stdout.slice(-200)}`, seconds };
  }
}

export const torchScript = (sharedDir: string) => join(sharedDir, 'bench', 'torch_reference.py');
