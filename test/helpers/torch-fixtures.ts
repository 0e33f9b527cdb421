/**
 * Test-only builders for checkpoint files, written independently of core/model:
 * a zip writer (STORED or DEFLATE), a tiny pickle writer for torch-style state dicts,
 * and a raw safetensors writer that accepts any dtype.
 */
import { deflateRawSync } from 'node:zlib';

// ---------------------------------------------------------------- zip

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(b: Uint8Array): number {
  let c = 0xffffffff;
  for (const x of b) c = CRC_TABLE[(c ^ x) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/**
 * Builds a zip archive. `deflate` compresses every entry (method 8); otherwise STORED.
 * `zip64` saturates every size/offset/count field and stores the real values in zip64 records.
 */
export function buildZip(files: Array<[name: string, data: Uint8Array]>, deflate = false, zip64 = false): Uint8Array {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, data] of files) {
    const nameBytes = Buffer.from(name, 'utf8');
    const body = deflate ? deflateRawSync(data) : Buffer.from(data);
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(zip64 ? 45 : 20, 4);
    local.writeUInt16LE(deflate ? 8 : 0, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(zip64 ? 45 : 20, 4);
    central.writeUInt16LE(zip64 ? 45 : 20, 6);
    central.writeUInt16LE(deflate ? 8 : 0, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(zip64 ? 0xffffffff : body.length, 20);
    central.writeUInt32LE(zip64 ? 0xffffffff : data.length, 24);
    central.writeUInt16LE(nameBytes.length, 28);
    central.writeUInt32LE(zip64 ? 0xffffffff : offset, 42);
    const extra = Buffer.alloc(zip64 ? 28 : 0);
    if (zip64) {
      extra.writeUInt16LE(0x0001, 0);
      extra.writeUInt16LE(24, 2);
      extra.writeBigUInt64LE(BigInt(data.length), 4);
      extra.writeBigUInt64LE(BigInt(body.length), 12);
      extra.writeBigUInt64LE(BigInt(offset), 20);
      central.writeUInt16LE(extra.length, 30);
    }
    locals.push(local, nameBytes, body);
    centrals.push(central, nameBytes, extra);
    offset += 30 + nameBytes.length + body.length;
  }
  const cd = Buffer.concat(centrals);
  const tail: Buffer[] = [];
  if (zip64) {
    const rec = Buffer.alloc(56);
    rec.writeUInt32LE(0x06064b50, 0);
    rec.writeBigUInt64LE(44n, 4);
    rec.writeUInt16LE(45, 12);
    rec.writeUInt16LE(45, 14);
    rec.writeBigUInt64LE(BigInt(files.length), 24);
    rec.writeBigUInt64LE(BigInt(files.length), 32);
    rec.writeBigUInt64LE(BigInt(cd.length), 40);
    rec.writeBigUInt64LE(BigInt(offset), 48);
    const locator = Buffer.alloc(20);
    locator.writeUInt32LE(0x07064b50, 0);
    locator.writeBigUInt64LE(BigInt(offset + cd.length), 8);
    locator.writeUInt32LE(1, 16);
    tail.push(rec, locator);
  }
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(zip64 ? 0xffff : files.length, 8);
  eocd.writeUInt16LE(zip64 ? 0xffff : files.length, 10);
  eocd.writeUInt32LE(zip64 ? 0xffffffff : cd.length, 12);
  eocd.writeUInt32LE(zip64 ? 0xffffffff : offset, 16);
  return new Uint8Array(Buffer.concat([...locals, cd, ...tail, eocd]));
}

// ---------------------------------------------------------------- pickle

/** Pickle opcode emitters (protocol 2), enough to write a torch state dict or a hostile payload. */
export const P = {
  proto: (): number[] => [0x80, 2],
  stop: (): number[] => [0x2e],
  mark: (): number[] => [0x28],
  emptyDict: (): number[] => [0x7d],
  emptyTuple: (): number[] => [0x29],
  tuple: (): number[] => [0x74],
  tuple1: (): number[] => [0x85],
  setitems: (): number[] => [0x75],
  reduce: (): number[] => [0x52],
  binpersid: (): number[] => [0x51],
  newfalse: (): number[] => [0x89],
  str: (s: string): number[] => {
    const b = [...Buffer.from(s, 'utf8')];
    const len = Buffer.alloc(4);
    len.writeUInt32LE(b.length);
    return [0x58, ...len, ...b];
  },
  int: (n: number): number[] => {
    const b = Buffer.alloc(4);
    b.writeInt32LE(n);
    return [0x4a, ...b];
  },
  global: (module: string, name: string): number[] => [0x63, ...Buffer.from(`${module}\n${name}\n`, 'utf8')],
  stackGlobal: (module: string, name: string): number[] => [...P.str(module), ...P.str(name), 0x93],
  ints: (xs: number[]): number[] => [...P.mark(), ...xs.flatMap(P.int), ...P.tuple()],
};

export interface PickledTensor { storageKey: string; storageType: string; storageNumel: number; offset: number; shape: number[]; stride: number[] }

/** A `torch.save(state_dict)` data.pkl for the given tensors. */
export function pickleStateDict(tensors: Array<[name: string, t: PickledTensor]>): Uint8Array {
  const out: number[] = [...P.proto(), ...P.emptyDict(), ...P.mark()];
  for (const [name, t] of tensors) {
    out.push(...P.str(name), ...P.global('torch._utils', '_rebuild_tensor_v2'), ...P.mark());
    out.push(...P.mark(), ...P.str('storage'), ...P.global('torch', t.storageType), ...P.str(t.storageKey), ...P.str('cpu'), ...P.int(t.storageNumel), ...P.tuple(), ...P.binpersid());
    out.push(...P.int(t.offset), ...P.ints(t.shape), ...P.ints(t.stride), ...P.newfalse());
    out.push(...P.global('collections', 'OrderedDict'), ...P.emptyTuple(), ...P.reduce(), ...P.tuple(), ...P.reduce());
  }
  out.push(...P.setitems(), ...P.stop());
  return new Uint8Array(out);
}

/** A torch zip checkpoint: archive/data.pkl plus archive/data/<key> for each storage. */
export function torchZip(pkl: Uint8Array, storages: Record<string, Float32Array> = {}, deflate = false): Uint8Array {
  const files: Array<[string, Uint8Array]> = [['archive/data.pkl', pkl]];
  for (const [key, data] of Object.entries(storages)) files.push([`archive/data/${key}`, new Uint8Array(data.buffer, data.byteOffset, data.byteLength)]);
  files.push(['archive/version', Buffer.from('3\n')]);
  return buildZip(files, deflate);
}

// ---------------------------------------------------------------- safetensors

/** A safetensors file from raw little-endian bytes in any dtype (no padding, like a minimal writer). */
export function rawSafetensors(entries: Array<{ name: string; dtype: string; shape: number[]; bytes: Uint8Array }>): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let offset = 0;
  for (const e of entries) {
    header[e.name] = { dtype: e.dtype, shape: e.shape, data_offsets: [offset, offset + e.bytes.length] };
    offset += e.bytes.length;
  }
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return new Uint8Array(Buffer.concat([len, json, ...entries.map((e) => Buffer.from(e.bytes))]));
}

/** Little-endian uint16 words as bytes. */
export function u16le(words: number[]): Uint8Array {
  const b = Buffer.alloc(words.length * 2);
  words.forEach((w, i) => b.writeUInt16LE(w, 2 * i));
  return new Uint8Array(b);
}
