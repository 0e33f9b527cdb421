/**
 * Out-of-memory, wherever it happens (training, evaluation, story generation, model loading), becomes one
 * QuijoteError OUT_OF_MEMORY with the notebook's advice, instead of a raw "Array buffer allocation failed" or
 * "memory access out of bounds" from the backend.
 */
import { isQuijoteError, QuijoteError } from './errors.ts';

/** What wasm, WebGPU, tfjs-node and V8 say when memory runs out. */
export const OOM_PATTERN = /out of memory|memory access out of bounds|Cannot allocate|WebAssembly\.Memory|\bOOM\b|Failed to allocate|Array buffer allocation failed|allocation failed|Invalid typed array length/i;

export type MemoryStage = 'training' | 'evaluation' | 'generation' | 'loading';

const STAGE: Record<MemoryStage, string> = {
  training: 'el entrenamiento',
  evaluation: 'la evaluación',
  generation: 'la generación de la historia',
  loading: 'la carga del modelo',
};

const ADVICE: Record<MemoryStage, string> = {
  training: 'Baja TRAIN_BS a 1 o BLOCK_SIZE a 64, o usa METHOD=lora (entrena solo adaptadores y cabe en mucha menos memoria).',
  evaluation: 'Baja BLOCK_SIZE a 64 o EVAL_LINES, o usa METHOD=lora.',
  generation: 'Baja MAX_NEW_TOKENS o acorta el comienzo; si el modelo es el de 124M sin GPU, prueba el modelo pequeño.',
  loading: 'El modelo no cabe en la memoria de esta máquina: usa un modelo más pequeño (QUIJOTE_MODEL) o una GPU, y cierra otros programas.',
};

export function isOutOfMemory(e: unknown): boolean {
  if (isQuijoteError(e)) return e.code === 'OUT_OF_MEMORY';
  if (e instanceof RangeError && /allocation|Invalid array length|typed array length/i.test(e.message)) return true;
  return OOM_PATTERN.test(String((e as Error | null)?.message ?? e));
}

export function outOfMemoryError(stage: MemoryStage, cause: unknown): QuijoteError {
  return new QuijoteError('OUT_OF_MEMORY', `Memoria insuficiente durante ${STAGE[stage]}.`, { cause, hint: ADVICE[stage] });
}

/** Runs `fn`; an out-of-memory failure becomes OUT_OF_MEMORY with the advice for `stage`. Other errors pass. */
export async function mapOutOfMemory<T>(stage: MemoryStage, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (isQuijoteError(e)) throw e;
    if (isOutOfMemory(e)) throw outOfMemoryError(stage, e);
    throw e;
  }
}
