/**
 * The wasm heap's ceiling as an error instead of a hang.
 *
 * tfjs-backend-wasm keeps every tensor in one 32-bit WebAssembly.Memory (4 GiB at most) and never checks what
 * malloc returns. Measured on the 124M shape (bench/README.md, «Two resident models»): with two full models
 * resident and an evaluation's working set, the heap reached its 4 GiB maximum and the main thread then spun
 * inside the allocator's free() for good — 100 % of one core, XNNPACK's worker idle, no progress in 10 minutes
 * (the known failure of dlmalloc at the top of a 32-bit address space). This guard wraps the module's malloc:
 * an allocation that would end above the budget is released and fails with OUT_OF_MEMORY, while the allocator
 * still has headroom for XNNPACK's own packed-weight buffers (allocated inside wasm, not seen here).
 */
import { QuijoteError } from '../errors.ts';

/** Highest byte a tensor allocation may reach: 3.75 GiB, 256 MB below the 4 GiB ceiling. */
export const WASM_HEAP_BUDGET = 3.75 * 2 ** 30;

interface WasmModule { _malloc(n: number): number; _free(p: number): void; HEAPU8: Uint8Array }
const ORIGINAL = Symbol('quijote.malloc');
type Guarded = WasmModule & { [ORIGINAL]?: (n: number) => number };

export function heapExhausted(bytes: number, budget: number): QuijoteError {
  return new QuijoteError('OUT_OF_MEMORY', `Memoria de WebAssembly agotada: ${(bytes / 2 ** 20).toFixed(0)} MB más no caben en ${(budget / 2 ** 30).toFixed(2)} GiB.`, {
    hint: 'Con el backend wasm cabe un modelo de 124M con su adaptador LoRA; prueba --method lora, --train-bs 1 o --block-size 64, o una GPU.',
  });
}

/** Installs (or re-budgets) the guard on a tfjs-backend-wasm module (`tf.backend().wasm`). */
export function guardWasmHeap(module: WasmModule, budget = WASM_HEAP_BUDGET): void {
  const m = module as Guarded;
  const malloc = (m[ORIGINAL] ??= m._malloc.bind(m));
  m._malloc = (n: number) => {
    const p = malloc(n) >>> 0;
    if (n > 0 && (p === 0 || p + n > budget)) {
      if (p !== 0) m._free(p);
      throw heapExhausted(n, budget);
    }
    return p;
  };
}
