/**
 * The safetensors format: an 8-byte little-endian header length, a JSON header
 * ({name: {dtype, shape, data_offsets}}, optional __metadata__), then raw little-endian data.
 * Every floating or integer dtype is converted to Float32Array on read; writing is F32 only.
 */
import { open, rename, rm } from 'node:fs/promises';
import { QuijoteError } from '../errors.ts';
import type { StateDict, TensorData } from './checkpoint.ts';

const DTYPE_BYTES: Record<string, number> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1,
};

const MAX_HEADER_BYTES = 100 * 1024 * 1024;

function corrupt(label: string, what: string): QuijoteError {
  return new QuijoteError('MODEL_CORRUPT', `${label}: el archivo safetensors está dañado o incompleto (${what}).`, {
    hint: 'Vuelve a descargarlo o borra la carpeta del modelo para que se descargue de nuevo.',
  });
}

let halfTable: Float32Array | null = null;

/** IEEE-754 binary16 -> float32 lookup table, built on first use (256 KiB). */
function halfToFloatTable(): Float32Array {
  if (halfTable) return halfTable;
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    if (exp === 0) t[h] = sign * frac * 2 ** -24;
    else if (exp === 31) t[h] = frac ? NaN : sign * Infinity;
    else t[h] = sign * (1 + frac / 1024) * 2 ** (exp - 15);
  }
  halfTable = t;
  return t;
}

/** Decodes `n` little-endian elements of `dtype` from `bytes` into a new Float32Array. */
export function decodeToFloat32(dtype: string, bytes: Uint8Array, n: number): Float32Array {
  const out = new Float32Array(n);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (dtype) {
    case 'F32':
      new Uint8Array(out.buffer).set(bytes.subarray(0, n * 4));
      break;
    case 'F16': {
      const t = halfToFloatTable();
      for (let i = 0; i < n; i++) out[i] = t[view.getUint16(2 * i, true)];
      break;
    }
    case 'BF16': {
      const u = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) u[i] = view.getUint16(2 * i, true) << 16;
      break;
    }
    case 'F64': for (let i = 0; i < n; i++) out[i] = view.getFloat64(8 * i, true); break;
    case 'I64': for (let i = 0; i < n; i++) out[i] = Number(view.getBigInt64(8 * i, true)); break;
    case 'I32': for (let i = 0; i < n; i++) out[i] = view.getInt32(4 * i, true); break;
    case 'I16': for (let i = 0; i < n; i++) out[i] = view.getInt16(2 * i, true); break;
    case 'I8': for (let i = 0; i < n; i++) out[i] = view.getInt8(i); break;
    case 'U8': case 'BOOL': for (let i = 0; i < n; i++) out[i] = bytes[i]; break;
    default: throw new Error(`decodeToFloat32: unknown dtype ${dtype}`);
  }
  return out;
}

export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

interface HeaderEntry { dtype: string; shape: number[]; data_offsets: [number, number] }

function isNonNegInt(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}

/** Parses the JSON header and returns it with the byte offset where the data section starts. */
export function readSafetensorsHeader(buf: Uint8Array, label: string): { entries: Map<string, HeaderEntry>; metadata: Record<string, string>; dataStart: number } {
  if (buf.length < 8) throw corrupt(label, 'menos de 8 bytes');
  const headerLen = new DataView(buf.buffer, buf.byteOffset, 8).getBigUint64(0, true);
  if (headerLen < 2n || headerLen > BigInt(Math.min(MAX_HEADER_BYTES, buf.length - 8))) {
    throw corrupt(label, `cabecera de ${headerLen} bytes imposible para un archivo de ${buf.length} bytes`);
  }
  const dataStart = 8 + Number(headerLen);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(buf.subarray(8, dataStart)));
  } catch {
    throw corrupt(label, 'la cabecera JSON no se puede leer');
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw corrupt(label, 'la cabecera no es un objeto JSON');
  const dataLen = buf.length - dataStart;
  const entries = new Map<string, HeaderEntry>();
  let metadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (raw && typeof raw === 'object') metadata = raw as Record<string, string>;
      continue;
    }
    const e = raw as Partial<HeaderEntry> | null;
    if (!e || typeof e.dtype !== 'string' || !Array.isArray(e.shape) || !e.shape.every(isNonNegInt)
      || !Array.isArray(e.data_offsets) || e.data_offsets.length !== 2 || !e.data_offsets.every(isNonNegInt)) {
      throw corrupt(label, `entrada «${name}» mal formada`);
    }
    const size = DTYPE_BYTES[e.dtype];
    if (size === undefined) {
      throw new QuijoteError('MODEL_UNSUPPORTED', `${label}: el tensor «${name}» usa el tipo ${e.dtype}, no soportado.`, {
        hint: 'Convierte el modelo a F32, F16 o BF16.',
      });
    }
    const [begin, end] = e.data_offsets;
    if (end < begin || end - begin !== elementCount(e.shape) * size) throw corrupt(label, `«${name}»: tamaño de datos incoherente con su forma`);
    if (end > dataLen) throw corrupt(label, `«${name}» termina en el byte ${dataStart + end} pero el archivo tiene ${buf.length}; ¿descarga incompleta?`);
    entries.set(name, e as HeaderEntry);
  }
  return { entries, metadata, dataStart };
}

/** Parses a whole safetensors buffer. Keys are returned exactly as stored (no normalization). */
export function parseSafetensors(buf: Uint8Array, fileLabel: string): Map<string, TensorData> {
  const { entries, dataStart } = readSafetensorsHeader(buf, fileLabel);
  const out = new Map<string, TensorData>();
  for (const [name, e] of entries) {
    const n = elementCount(e.shape);
    const bytes = buf.subarray(dataStart + e.data_offsets[0], dataStart + e.data_offsets[1]);
    out.set(name, { shape: [...e.shape], data: decodeToFloat32(e.dtype, bytes, n) });
  }
  return out;
}

/** Builds the header bytes (length prefix + JSON padded with spaces to a multiple of 8). */
function buildHeader(tensors: StateDict, metadata: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const [name, t] of tensors) {
    const n = elementCount(t.shape);
    if (n !== t.data.length) {
      throw new QuijoteError('INTERNAL', `writeSafetensors: «${name}» tiene forma [${t.shape.join(', ')}] pero ${t.data.length} valores.`);
    }
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + n * 4] };
    offset += n * 4;
  }
  let json = JSON.stringify(header);
  const byteLen = Buffer.byteLength(json);
  json += ' '.repeat((8 - ((8 + byteLen) % 8)) % 8);
  const jsonBytes = Buffer.from(json, 'utf8');
  const out = new Uint8Array(8 + jsonBytes.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(jsonBytes.length), true);
  out.set(jsonBytes, 8);
  return out;
}

/**
 * Writes `tensors` as an F32 safetensors file that Python's safetensors/transformers can load.
 * Writes to `<path>.tmp` first and renames, so a crash never leaves a half-written model behind.
 */
export async function writeSafetensors(path: string, tensors: StateDict, metadata: Record<string, string> = { format: 'pt' }): Promise<void> {
  const header = buildHeader(tensors, metadata);
  const tmp = `${path}.tmp`;
  const fh = await open(tmp, 'w');
  try {
    await fh.write(header);
    for (const t of tensors.values()) {
      await fh.write(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    }
    await fh.close();
  } catch (cause) {
    await fh.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw new QuijoteError('INTERNAL', `No se pudo escribir ${path}: ${(cause as Error).message}.`, { cause, hint: 'Comprueba el espacio en disco y los permisos.' });
  }
  await rename(tmp, path);
}
