/**
 * Minimal ZIP reader (central directory, STORED and DEFLATE entries, zip64) for PyTorch's
 * `pytorch_model.bin` archives. Reads from an in-memory buffer; never touches the disk.
 */
import { inflateRawSync } from 'node:zlib';
import { QuijoteError } from '../errors.ts';

export interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

const SIG_EOCD = 0x06054b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const SIG_ZIP64_EOCD = 0x06064b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_LOCAL = 0x04034b50;

function corrupt(label: string, what: string): QuijoteError {
  return new QuijoteError('MODEL_CORRUPT', `${label}: el archivo zip está dañado o incompleto (${what}).`, {
    hint: 'Vuelve a descargarlo o borra la carpeta del modelo para que se descargue de nuevo.',
  });
}

function u64(view: DataView, at: number, label: string): number {
  const v = view.getBigUint64(at, true);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw corrupt(label, 'tamaño de 64 bits fuera de rango');
  return Number(v);
}

/** True when the buffer starts like a zip archive (local file header signature). */
export function looksLikeZip(buf: Uint8Array): boolean {
  return buf.length >= 4 && buf[0] === 0x50 && buf[1] === 0x4b && buf[2] === 0x03 && buf[3] === 0x04;
}

/** Lists the entries of a zip archive from its central directory. */
export function readZipEntries(buf: Uint8Array, label: string): Map<string, ZipEntry> {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (buf.length < 22) throw corrupt(label, 'demasiado corto');
  let eocd = -1;
  const stop = Math.max(0, buf.length - 22 - 0xffff);
  for (let i = buf.length - 22; i >= stop; i--) {
    if (view.getUint32(i, true) === SIG_EOCD) { eocd = i; break; }
  }
  if (eocd < 0) throw corrupt(label, 'no se encontró el directorio central; ¿archivo truncado?');
  let count = view.getUint16(eocd + 10, true);
  let cdSize = view.getUint32(eocd + 12, true);
  let cdOffset = view.getUint32(eocd + 16, true);
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    const loc = eocd - 20;
    if (loc < 0 || view.getUint32(loc, true) !== SIG_ZIP64_LOCATOR) throw corrupt(label, 'falta el localizador zip64');
    const z64 = u64(view, loc + 8, label);
    if (z64 + 56 > buf.length || view.getUint32(z64, true) !== SIG_ZIP64_EOCD) throw corrupt(label, 'registro zip64 inválido');
    count = u64(view, z64 + 32, label);
    cdSize = u64(view, z64 + 40, label);
    cdOffset = u64(view, z64 + 48, label);
  }
  if (cdOffset + cdSize > buf.length) throw corrupt(label, 'el directorio central apunta fuera del archivo');
  const entries = new Map<string, ZipEntry>();
  const decoder = new TextDecoder();
  let p = cdOffset;
  for (let n = 0; n < count; n++) {
    if (p + 46 > buf.length || view.getUint32(p, true) !== SIG_CENTRAL) throw corrupt(label, `entrada ${n} del directorio central inválida`);
    const method = view.getUint16(p + 10, true);
    let compressedSize = view.getUint32(p + 20, true);
    let size = view.getUint32(p + 24, true);
    const nameLen = view.getUint16(p + 28, true);
    const extraLen = view.getUint16(p + 30, true);
    const commentLen = view.getUint16(p + 32, true);
    let localHeaderOffset = view.getUint32(p + 42, true);
    if (p + 46 + nameLen + extraLen > buf.length) throw corrupt(label, 'directorio central truncado');
    const name = decoder.decode(buf.subarray(p + 46, p + 46 + nameLen));
    // zip64 extended information: only the fields saturated in the fixed header are present, in this order.
    let e = p + 46 + nameLen;
    const extraEnd = e + extraLen;
    while (e + 4 <= extraEnd) {
      const id = view.getUint16(e, true);
      const len = view.getUint16(e + 2, true);
      if (id === 0x0001) {
        let q = e + 4;
        if (size === 0xffffffff) { size = u64(view, q, label); q += 8; }
        if (compressedSize === 0xffffffff) { compressedSize = u64(view, q, label); q += 8; }
        if (localHeaderOffset === 0xffffffff) { localHeaderOffset = u64(view, q, label); q += 8; }
      }
      e += 4 + len;
    }
    entries.set(name, { name, method, compressedSize, size, localHeaderOffset });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

/** Returns an entry's bytes (a view into `buf` for STORED entries, a fresh buffer for DEFLATE). */
export function readZipEntry(buf: Uint8Array, entry: ZipEntry, label: string): Uint8Array {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const h = entry.localHeaderOffset;
  if (h + 30 > buf.length || view.getUint32(h, true) !== SIG_LOCAL) throw corrupt(label, `cabecera local de ${entry.name} inválida`);
  const start = h + 30 + view.getUint16(h + 26, true) + view.getUint16(h + 28, true);
  const end = start + entry.compressedSize;
  if (end > buf.length) throw corrupt(label, `${entry.name} está truncado`);
  const raw = buf.subarray(start, end);
  if (entry.method === 0) {
    if (entry.compressedSize !== entry.size) throw corrupt(label, `${entry.name}: tamaños incoherentes`);
    return raw;
  }
  if (entry.method === 8) {
    let out: Uint8Array;
    try {
      out = inflateRawSync(raw);
    } catch (cause) {
      throw corrupt(label, `${entry.name} no se pudo descomprimir: ${(cause as Error).message}`);
    }
    if (out.length !== entry.size) throw corrupt(label, `${entry.name}: tamaño descomprimido incorrecto`);
    return out;
  }
  throw new QuijoteError('MODEL_UNSUPPORTED', `${label}: ${entry.name} usa el método de compresión ${entry.method}, no soportado.`, {
    hint: 'Guarda el modelo como model.safetensors (save_pretrained con safe_serialization=True).',
  });
}
