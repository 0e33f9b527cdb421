/**
 * `quijote bench` / `npm run bench`: fine-tuning and generation throughput on the workloads of
 * ../shared/bench/torch_reference.py, one fresh process per workload (bench/worker.ts), optionally the torch
 * twin of each right after it (--with-torch, or QUIJOTE_BENCH_TORCH=1), and the result as JSON in
 * bench/results/<date>-<hostname>-<backend>.json (or --out DIR, or --out FILE.json).
 *
 *   quijote bench [--json] [--only mini-train,124m-lora,...] [--steps N] [--seed N] [--backend wasm|cpu|webgpu|...]
 *                 [--model DIR] [--max-new-tokens N] [--batch-size N] [--out DIR] [--with-torch]
 *
 * On a GPU, QUIJOTE_BENCH_TORCH_DEVICE=cuda runs the torch twins on CUDA (fp32, TF32 off; bench/torch_device.py)
 * and QUIJOTE_BENCH_PYTHON names the python3 that has torch (default /usr/bin/python3, Debian's).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BackendRequest } from '../core/backend.ts';
import { QuijoteError } from '../core/errors.ts';
import { machineInfo, type BackendRecord, type MachineInfo } from './machine.ts';
import { DEFAULT_WORKLOADS, headline, torchArgs, WORKLOAD_NAMES, type WorkloadName, type WorkloadResult, type WorkloadSpec } from './suite.ts';
import { cpus } from 'node:os';
import { runTorch, torchInfo, torchScript, type TorchInfo } from './torch.ts';

/** The CLI context bench needs (bot/cli/commands.ts' CliContext is structurally compatible). */
export interface BenchContext {
  config: { sharedDir: string; backend: string; libraryPath?: string | null; wasmThreads?: number; webgpuMatmul?: 'tiled' | 'tfjs' };
  positionals: string[];
  flags: Record<string, string | boolean | undefined>;
}

export interface WorkloadEntry {
  name: WorkloadName;
  ok: boolean;
  error?: string;
  seconds: number;
  result?: WorkloadResult;
  torch?: { ok: boolean; result?: Record<string, unknown>; error?: string; seconds: number };
  /** class-train-124m: torch_reference.py finetune on the same folder and lines (full fine-tuning). */
  torch_finetune?: { ok: boolean; result?: Record<string, unknown>; error?: string; seconds: number };
  /** ours / torch on the headline figure (best step for training; tokens/s for generation). */
  ratio?: number;
  ratio_median?: number;
}

export interface BenchReport {
  schema: 'quijote-bench/1';
  date: string;
  created_at: string;
  machine: MachineInfo;
  backend: BackendRecord | null;
  settings: { steps: number; seed: number; new_tokens: number; batch_size: number; block_size: number; webgpu_matmul: string; iterations: number; wasm_threads_env: number | null };
  torch: TorchInfo | null;
  workloads: WorkloadEntry[];
  file?: string;
}

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const err = (s: string) => process.stderr.write(s + '\n');

function posInt(flags: BenchContext['flags'], name: string, fallback: number): number {
  const raw = flags[name];
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (typeof raw !== 'string' || !Number.isInteger(v) || v < 1) throw new QuijoteError('BAD_ARGUMENT', `--${name} debe ser un entero positivo; recibido: ${String(raw)}.`);
  return v;
}

function selected(only: unknown): WorkloadName[] {
  if (typeof only !== 'string' || only.trim() === '') return DEFAULT_WORKLOADS;
  const names = only.split(',').map((s) => s.trim()).filter(Boolean);
  const bad = names.filter((n) => !(WORKLOAD_NAMES as readonly string[]).includes(n));
  if (bad.length) throw new QuijoteError('BAD_ARGUMENT', `Carga de bench desconocida: ${bad.join(', ')}.`, { hint: `Usa alguna de: ${WORKLOAD_NAMES.join(', ')}.` });
  return names as WorkloadName[];
}

/** Runs one workload in a fresh Node process (bench/worker.ts). */
export function runInChild(spec: WorkloadSpec): Promise<{ result?: WorkloadResult; error?: string; seconds: number }> {
  const t0 = performance.now();
  return new Promise((done) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'bench', 'worker.ts'), JSON.stringify(spec)], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', stderr = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('close', (code) => {
      const seconds = (performance.now() - t0) / 1000;
      const line = out.split('\n').find((l) => l.startsWith('BENCH_RESULT ') || l.startsWith('BENCH_ERROR '));
      if (line?.startsWith('BENCH_RESULT ')) return done({ result: JSON.parse(line.slice(13)) as WorkloadResult, seconds });
      if (line) return done({ error: (JSON.parse(line.slice(12)) as { message: string }).message, seconds });
      done({ error: `el proceso terminó con código ${code}: ${stderr.trim().split('\n').slice(-3).join(' | ') || 'sin salida'}`, seconds });
    });
  });
}

function torchHeadline(name: WorkloadName, r: Record<string, unknown>): { best: number; median?: number } {
  if (name.endsWith('generate')) return { best: Number(r.tok_per_s) };
  return { best: Number(r.tok_per_s_best), median: Number(r.tok_per_s_median) };
}

/** Runs the selected workloads (and their torch twins) sequentially; returns the report (also written to disk). */
export async function bench(c: BenchContext, log: (s: string) => void = err): Promise<BenchReport> {
  const f = c.flags;
  const names = selected(f.only);
  const sharedDir = resolve(c.config.sharedDir);
  const withTorch = f['with-torch'] === true || process.env.QUIJOTE_BENCH_TORCH === '1';
  const threadsEnv = process.env.QUIJOTE_BENCH_WASM_THREADS ? Number(process.env.QUIJOTE_BENCH_WASM_THREADS) : null;
  const base = {
    backend: (typeof f.backend === 'string' ? f.backend : c.config.backend) as BackendRequest,
    modelDir: resolve(typeof f.model === 'string' ? f.model : join(sharedDir, 'models', 'es-novelas-mini')),
    tinyDir: join(REPO, 'test', 'fixtures', 'gpt2-tiny-golden'),
    steps: posInt(f, 'steps', 5),
    batchSize: posInt(f, 'batch-size', 2),
    webgpuMatmul: c.config.webgpuMatmul ?? 'tiled',
    seed: f.seed === undefined ? 0 : Number(f.seed),
    newTokens: posInt(f, 'max-new-tokens', 160),
    iterations: 100,
    sharedDir,
    rounds: posInt(f, 'rounds', 1),
    lines: posInt(f, 'lines', 100),
    evalLines: typeof f['eval-lines'] === 'string' ? posInt(f, 'eval-lines', 200) : undefined,
    classModelDir: typeof f['class-model'] === 'string' ? resolve(f['class-model']) : undefined,
    libraryPath: c.config.libraryPath ?? undefined,
    // the app's setting: --threads, else WASM_THREADS, 0 = one per CPU
    wasmThreads: (typeof f.threads === 'string' ? Number(f.threads) : c.config.wasmThreads ?? 0) || cpus().length,
  };
  if (!Number.isInteger(base.seed) || base.seed < 0) throw new QuijoteError('BAD_ARGUMENT', `--seed debe ser un entero ≥ 0; recibido: ${String(f.seed)}.`);
  const now = new Date(); // bench/ is an edge: it may read the clock
  const script = torchScript(sharedDir);
  const tinfo = withTorch ? torchInfo(script) : null;
  if (tinfo && !tinfo.available) log(`· torch omitido: ${tinfo.note}`);
  else if (tinfo) log(`· torch ${tinfo.version}, ${tinfo.threads} hilos, BLAS: ${tinfo.blas}`);

  const report: BenchReport = {
    schema: 'quijote-bench/1', date: now.toISOString().slice(0, 10), created_at: now.toISOString(), machine: machineInfo(), backend: null,
    settings: { steps: base.steps, seed: base.seed, new_tokens: base.newTokens, batch_size: base.batchSize, block_size: 128, webgpu_matmul: base.webgpuMatmul, iterations: base.iterations, wasm_threads_env: threadsEnv },
    torch: tinfo, workloads: [],
  };
  for (const name of names) {
    const spec: WorkloadSpec = { ...base, name };
    log(`· ${name}…`);
    const r = await runInChild(spec);
    const entry: WorkloadEntry = { name, ok: !!r.result, seconds: Math.round(r.seconds * 10) / 10, ...(r.result ? { result: r.result } : { error: r.error }) };
    if (r.result) report.backend ??= r.result.backend;
    const args = torchArgs(spec);
    if (tinfo?.available && args) {
      log(`· ${name} (torch)…`);
      entry.torch = runTorch(script, args);
      if (name === 'class-train-124m' && r.result?.kind === 'class-train') {
        // The same /train on the same folder and lines in PyTorch (full fine-tuning: torch_reference has no LoRA).
        log(`· ${name} (torch finetune, acumulación ${4})…`);
        entry.torch_finetune = runTorch(script, ['finetune', '--model', r.result.model_dir, '--text', join(sharedDir, 'data', 'pg2000-don-quijote.txt'), '--lines', String(base.lines), '--bs', '2', '--accum', '4', '--epochs', '2', '--seed', '42', '--lr', '1e-4']);
      }
      const ours = r.result ? headline(r.result) : null;
      if (entry.torch.ok && ours) {
        const t = torchHeadline(name, entry.torch.result!);
        entry.ratio = ours.ours / t.best;
        if (ours.oursMedian !== undefined && t.median) entry.ratio_median = ours.oursMedian / t.median;
      }
    }
    log(`  ${summaryLine(entry)}`);
    report.workloads.push(entry);
  }
  const target = resolve(typeof f.out === 'string' ? f.out : join(REPO, 'bench', 'results'));
  const host = report.machine.hostname.replace(/[^A-Za-z0-9._-]/g, '_');
  const label = `${report.backend?.name ?? base.backend}${threadsEnv ? `-threads${threadsEnv}` : ''}${base.batchSize !== 2 ? `-bs${base.batchSize}` : ''}${report.backend?.name === 'webgpu' && base.webgpuMatmul === 'tfjs' ? '-tfjs-matmul' : ''}`;
  report.file = target.endsWith('.json') ? target : join(target, `${report.date}-${host}-${label}.json`);
  mkdirSync(dirname(report.file), { recursive: true });
  writeFileSync(report.file, JSON.stringify(report, null, 2) + '\n');
  return report;
}

const fmt = (x: number | undefined, d = 1) => (x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(d));

export function summaryLine(e: WorkloadEntry): string {
  if (!e.ok) return `${e.name}: ERROR ${e.error}`;
  const r = e.result!;
  const h = headline(r);
  const torch = e.torch?.ok ? torchHeadline(e.name, e.torch.result!).best : undefined;
  if (r.kind === 'two-models') return `${e.name}: ${r.steps.map((x) => `${x.what} ${fmt(x.seconds)} s (montón ${fmt(x.memory.wasm_heap_bytes === null ? undefined : x.memory.wasm_heap_bytes / 2 ** 20, 0)} MB)`).join(' · ')}`;
  if (r.kind === 'class-train') {
    const x = r.rounds[0].seconds;
    return `${e.name}: ${fmt(h!.ours)} tok/s de entrenamiento · encuesta lista en ${fmt(x.poll_ready)} s · total ${fmt(x.total)} s` + (torch !== undefined ? ` · torch ${fmt(torch)} · ×${fmt(e.ratio, 2)}` : '');
  }
  if (!h) {
    const m = r as Extract<WorkloadResult, { kind: 'memory' }>;
    return `${e.name}: ${m.iterations} iteraciones, Δtensores ${m.tensors_delta}, Δbytes ${m.bytes_delta}, Δheap wasm ${fmt(m.wasm_heap_delta_mb ?? undefined)} MB, ΔRSS ${fmt(m.rss_delta_mb)} MB`;
  }
  const median = h.oursMedian !== undefined ? ` (mediana ${fmt(h.oursMedian)})` : '';
  return `${e.name}: ${fmt(h.ours)} tok/s${median}` + (torch !== undefined ? ` · torch ${fmt(torch)} · ×${fmt(e.ratio, 2)}` : '') +
    ` · RSS pico ${fmt(r.end.peak_rss_mb, 0)} MB`;
}

export async function runBench(c: BenchContext): Promise<number> {
  const report = await bench(c);
  if (c.flags.json) process.stdout.write(JSON.stringify(report) + '\n');
  else {
    const b = report.backend;
    process.stdout.write(`backend: ${b?.name ?? '?'}${b?.wasm_threads ? ` (${b.wasm_threads} hilo${b.wasm_threads > 1 ? 's' : ''})` : ''}${b?.detail ? ` — ${b.detail}` : ''}\n`);
    process.stdout.write(`máquina: ${report.machine.cpu_model} ×${report.machine.cpu_count}, ${report.machine.total_memory_gb} GB, Node ${report.machine.node}\n`);
    for (const e of report.workloads) process.stdout.write(summaryLine(e) + '\n');
    process.stdout.write(`resultados: ${report.file}\n`);
  }
  return report.workloads.every((e) => e.ok && (!e.torch || e.torch.ok)) ? 0 : 1;
}
