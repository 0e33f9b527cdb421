/**
 * Child process of `quijote bench`: runs one workload (spec as JSON in argv[2]) in a fresh process, so each
 * workload's peak RSS is its own, and prints `BENCH_RESULT {json}` (or `BENCH_ERROR {json}`) on stdout.
 *
 * The wasm thread count is the app's (--threads / WASM_THREADS, one per CPU by default); the older
 * QUIJOTE_BENCH_WASM_THREADS=N still forces N.
 */
import type { WorkloadSpec } from './suite.ts';

const spec = JSON.parse(process.argv[2]) as WorkloadSpec;
try {
  const threads = Number(process.env.QUIJOTE_BENCH_WASM_THREADS ?? 0);
  if (threads > 0 && (spec.backend === 'wasm' || spec.backend === 'auto')) {
    const { useThreadedWasm } = await import('../core/kernels/wasm-threads.ts');
    await useThreadedWasm(threads);
  }
  const { runWorkload } = await import('./suite.ts');
  const r = await runWorkload(spec);
  process.stdout.write(`BENCH_RESULT ${JSON.stringify(r)}\n`);
  process.exitCode = 0;
} catch (e) {
  const err = e as Error;
  let message = (err?.message ?? String(e)).split('\n')[0];
  try {
    const { memorySnapshot } = await import('./machine.ts');
    const m = memorySnapshot();
    if (m.wasm_heap_bytes !== null) {
      message += ` [montón wasm ${(m.wasm_heap_bytes / 2 ** 30).toFixed(2)} GiB de 4 GiB, tensores vivos ${(m.num_bytes / 2 ** 30).toFixed(2)} GiB]`;
      if (m.wasm_heap_bytes > 3.5 * 2 ** 30) message += ' — el montón de WebAssembly (32 bits, máx. 4 GiB) se agotó';
    }
  } catch { /* the backend may not have started */ }
  process.stdout.write(`BENCH_ERROR ${JSON.stringify({ message, code: (e as { code?: string })?.code })}\n`);
  process.exitCode = 1;
}
// tfjs-backend-wasm (and the threaded build's workers) keep no useful handles: end now.
process.exit(process.exitCode);
