/**
 * Reads a local Hugging Face GPT-2 folder's weights into a normalized state dict:
 * model.safetensors, else sharded safetensors (model.safetensors.index.json), else pytorch_model.bin.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { QuijoteError } from '../errors.ts';
import { parseSafetensors } from './safetensors.ts';
import { readTorchZip } from './torch-pickle.ts';

export interface TensorData { shape: number[]; data: Float32Array }
export type StateDict = Map<string, TensorData>;

const SAFETENSORS = 'model.safetensors';
const SHARD_INDEX = 'model.safetensors.index.json';
const TORCH_BIN = 'pytorch_model.bin';

async function exists(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

async function readBytes(path: string): Promise<Uint8Array> {
  try {
    const b = await readFile(path);
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  } catch (cause) {
    throw new QuijoteError('MODEL_NOT_FOUND', `No se pudo leer ${path}: ${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}.`, {
      cause, hint: 'Comprueba que el archivo existe y se puede leer, o pasa --model CARPETA con un modelo completo.',
    });
  }
}

function sameData(a: TensorData, b: TensorData): boolean {
  if (a === b) return true;
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i]) || a.data.length !== b.data.length) return false;
  for (let i = 0; i < a.data.length; i++) if (a.data[i] !== b.data[i]) return false;
  return true;
}

/**
 * Strips a leading "transformer.", drops the causal-mask buffers (attn.bias, attn.masked_bias) and drops
 * lm_head.weight when it is tied to wte.weight (same object or identical values).
 */
export function normalizeStateDict(raw: Map<string, TensorData>): StateDict {
  const out: StateDict = new Map();
  for (const [key, t] of raw) {
    const name = key.startsWith('transformer.') ? key.slice('transformer.'.length) : key;
    if (/(^|\.)attn\.(bias|masked_bias)$/.test(name)) continue;
    out.set(name, t);
  }
  const head = out.get('lm_head.weight');
  const wte = out.get('wte.weight');
  if (head && wte && sameData(head, wte)) out.delete('lm_head.weight');
  return out;
}

async function readShards(dir: string): Promise<Map<string, TensorData>> {
  const indexPath = join(dir, SHARD_INDEX);
  let weightMap: Record<string, string>;
  try {
    const index = JSON.parse(new TextDecoder().decode(await readBytes(indexPath))) as { weight_map?: Record<string, string> };
    if (!index.weight_map || typeof index.weight_map !== 'object') throw new Error('no weight_map');
    weightMap = index.weight_map;
  } catch (cause) {
    if (cause instanceof QuijoteError) throw cause;
    throw new QuijoteError('MODEL_CORRUPT', `${indexPath}: el índice de fragmentos no es JSON válido con "weight_map".`, {
      cause, hint: 'Vuelve a descargar el modelo.',
    });
  }
  const all = new Map<string, TensorData>();
  for (const shard of new Set(Object.values(weightMap))) {
    if (typeof shard !== 'string' || shard.includes('/') || shard.includes('\\') || shard.startsWith('.')) {
      throw new QuijoteError('MODEL_CORRUPT', `${indexPath}: nombre de fragmento no válido «${String(shard)}».`, { hint: 'Vuelve a descargar el modelo.' });
    }
    const path = join(dir, shard);
    if (!(await exists(path))) {
      throw new QuijoteError('MODEL_NOT_FOUND', `Falta el fragmento ${path} que cita ${SHARD_INDEX}.`, {
        hint: 'Vuelve a descargar el modelo completo o pasa --model CARPETA con todos los fragmentos.',
      });
    }
    for (const [k, v] of parseSafetensors(await readBytes(path), path)) all.set(k, v);
  }
  for (const [k, shard] of Object.entries(weightMap)) {
    if (!all.has(k)) {
      throw new QuijoteError('MODEL_CORRUPT', `${join(dir, shard)}: no contiene «${k}», que el índice le asigna.`, { hint: 'Vuelve a descargar el modelo.' });
    }
  }
  return all;
}

/** Reads a local HF GPT-2 folder's weights (see module comment) and normalizes the keys. */
export async function readStateDict(dir: string): Promise<StateDict> {
  let raw: Map<string, TensorData>;
  let source: string;
  if (await exists(join(dir, SAFETENSORS))) {
    source = join(dir, SAFETENSORS);
    raw = parseSafetensors(await readBytes(source), source);
  } else if (await exists(join(dir, SHARD_INDEX))) {
    source = join(dir, SHARD_INDEX);
    raw = await readShards(dir);
  } else if (await exists(join(dir, TORCH_BIN))) {
    source = join(dir, TORCH_BIN);
    raw = readTorchZip(await readBytes(source), source);
  } else {
    throw new QuijoteError('MODEL_NOT_FOUND', `No hay pesos en ${dir}: faltan ${SAFETENSORS}, ${SHARD_INDEX} y ${TORCH_BIN}.`, {
      hint: 'Pasa --model CARPETA con un GPT-2 en formato Hugging Face o un id del Hub (p. ej. org/nombre).',
    });
  }
  const sd = normalizeStateDict(raw);
  if (sd.size === 0) {
    throw new QuijoteError('MODEL_CORRUPT', `${source}: no contiene ningún tensor.`, { hint: 'Vuelve a descargar el modelo.' });
  }
  return sd;
}
