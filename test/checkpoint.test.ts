import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isQuijoteError } from '../core/errors.ts';
import { readStateDict, type StateDict, type TensorData } from '../core/model/checkpoint.ts';
import { parseSafetensors, writeSafetensors } from '../core/model/safetensors.ts';
import { readTorchZip } from '../core/model/torch-pickle.ts';
import { readZipEntries, readZipEntry } from '../core/model/zip.ts';
import { buildZip, P, pickleStateDict, rawSafetensors, torchZip, u16le } from './helpers/torch-fixtures.ts';

const GOLDEN = fileURLToPath(new URL('./fixtures/gpt2-tiny-golden/', import.meta.url));
let tmp: string;
let n = 0;

before(async () => { tmp = await mkdtemp(join(tmpdir(), 'quijote-ckpt-')); });
after(async () => { await rm(tmp, { recursive: true, force: true }); });

async function dirWith(files: Record<string, Uint8Array | string>): Promise<string> {
  const dir = join(tmp, `case${n++}`);
  await mkdir(dir);
  for (const [name, data] of Object.entries(files)) await writeFile(join(dir, name), data);
  return dir;
}

async function bytes(path: string): Promise<Uint8Array> {
  return new Uint8Array(await readFile(path));
}

function assertSameDict(a: StateDict, b: StateDict): void {
  assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort());
  for (const [k, t] of a) {
    const u = b.get(k)!;
    assert.deepEqual(u.shape, t.shape, `shape of ${k}`);
    assert.ok(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).equals(Buffer.from(u.data.buffer, u.data.byteOffset, u.data.byteLength)), `data of ${k}`);
  }
}

async function rejectsWith(p: Promise<unknown> | (() => unknown), code: string, mention?: string): Promise<void> {
  await assert.rejects(async () => (typeof p === 'function' ? p() : p), (e: unknown) => {
    assert.ok(isQuijoteError(e), `expected QuijoteError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.ok(!e.message.includes('\n'), 'one-line message');
    if (mention) assert.ok(e.message.includes(mention), `message should mention ${mention}: ${e.message}`);
    return true;
  });
}

describe('golden fixture', () => {
  test('model.safetensors and pytorch_model.bin give identical normalized state dicts', async () => {
    const fromSt = await readStateDict(GOLDEN);
    const binOnly = await dirWith({ 'pytorch_model.bin': await bytes(join(GOLDEN, 'pytorch_model.bin')) });
    const fromBin = await readStateDict(binOnly);
    assertSameDict(fromSt, fromBin);
    assert.equal(fromSt.size, 4 + 2 * 12);
    for (const k of fromSt.keys()) {
      assert.ok(!k.startsWith('transformer.'), k);
      assert.ok(!/(^|\.)attn\.(bias|masked_bias)$/.test(k), k);
    }
    assert.ok(!fromBin.has('lm_head.weight'), 'tied head dropped');
    assert.deepEqual(fromSt.get('wte.weight')!.shape, [8192, 32]);
    assert.deepEqual(fromSt.get('h.1.attn.c_attn.weight')!.shape, [32, 96]);
    assert.deepEqual(fromSt.get('ln_f.bias')!.shape, [32]);
  });

  test('readTorchZip keeps raw keys, shares the tied storage and reads buffers', async () => {
    const raw = readTorchZip(await bytes(join(GOLDEN, 'pytorch_model.bin')), 'pytorch_model.bin');
    assert.equal(raw.size, 28 + 1 + 4);
    assert.equal(raw.get('lm_head.weight'), raw.get('transformer.wte.weight'));
    assert.deepEqual(raw.get('transformer.h.0.attn.bias')!.shape, [1, 1, 64, 64]);
    const mask = raw.get('transformer.h.0.attn.bias')!.data;
    assert.equal(mask[0 * 64 + 1], 0); // causal mask: row 0 sees only column 0
    assert.equal(mask[1 * 64 + 1], 1);
    assert.deepEqual(raw.get('transformer.h.1.attn.masked_bias')!.shape, []);
  });

  test('DEFLATE and zip64 copies of pytorch_model.bin read the same', async () => {
    const buf = await bytes(join(GOLDEN, 'pytorch_model.bin'));
    const entries = readZipEntries(buf, 'bin');
    const files: Array<[string, Uint8Array]> = [...entries.values()].map((e) => [e.name, readZipEntry(buf, e, 'bin')]);
    const deflated = buildZip(files, true);
    assert.ok(deflated.length < buf.length);
    const a = readTorchZip(buf, 'a');
    assertSameDict(a, readTorchZip(deflated, 'deflate'));
    const z64 = buildZip(files, false, true);
    assert.equal(Buffer.from(z64).readUInt16LE(z64.length - 12), 0xffff, 'EOCD count saturated');
    assertSameDict(a, readTorchZip(z64, 'zip64'));
    assertSameDict(a, readTorchZip(buildZip(files, true, true), 'zip64+deflate'));
  });
});

describe('safetensors dtypes and layout', () => {
  test('F16 values (normals, subnormal, infinity, signed zero) convert exactly', async () => {
    const words = [0x3c00, 0xc000, 0x3800, 0x7bff, 0x0001, 0x8000, 0x7c00, 0x3555];
    const expected = [1, -2, 0.5, 65504, 2 ** -24, -0, Infinity, 0.333251953125];
    const dir = await dirWith({ 'model.safetensors': rawSafetensors([{ name: 'transformer.wte.weight', dtype: 'F16', shape: [2, 4], bytes: u16le(words) }]) });
    const sd = await readStateDict(dir);
    const t = sd.get('wte.weight')!;
    assert.deepEqual(t.shape, [2, 4]);
    assert.deepEqual([...t.data], expected);
    assert.ok(Object.is(t.data[5], -0));
  });

  test('BF16 values convert exactly', async () => {
    const words = [0x3f80, 0xc040, 0x3e20, 0x4049, 0x0000, 0xff80];
    const expected = [1, -3, 0.15625, 3.140625, 0, -Infinity];
    const dir = await dirWith({ 'model.safetensors': rawSafetensors([{ name: 'wpe.weight', dtype: 'BF16', shape: [6], bytes: u16le(words) }]) });
    assert.deepEqual([...(await readStateDict(dir)).get('wpe.weight')!.data], expected);
  });

  test('sharded safetensors with an index read the same as the single file', async () => {
    const whole = parseSafetensors(await bytes(join(GOLDEN, 'model.safetensors')), 'golden');
    const keys = [...whole.keys()];
    const dir = await dirWith({});
    const shards = [keys.slice(0, 10), keys.slice(10)];
    const weightMap: Record<string, string> = {};
    for (const [i, part] of shards.entries()) {
      const file = `model-0000${i + 1}-of-00002.safetensors`;
      await writeSafetensors(join(dir, file), new Map(part.map((k) => [k, whole.get(k)!])));
      for (const k of part) weightMap[k] = file;
    }
    await writeFile(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: { total_size: 0 }, weight_map: weightMap }));
    assertSameDict(await readStateDict(dir), await readStateDict(GOLDEN));
    await rm(join(dir, 'model-00002-of-00002.safetensors'));
    await rejectsWith(readStateDict(dir), 'MODEL_NOT_FOUND', 'model-00002-of-00002.safetensors');
  });

  test('an untied lm_head stays; an equal-valued copy is dropped', async () => {
    const wte = { shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) };
    const write = async (head: TensorData): Promise<StateDict> => {
      const dir = await dirWith({});
      await writeSafetensors(join(dir, 'model.safetensors'), new Map([['transformer.wte.weight', wte], ['lm_head.weight', head]]));
      return readStateDict(dir);
    };
    const tied = await write({ shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) });
    assert.deepEqual([...tied.keys()], ['wte.weight']);
    const untied = await write({ shape: [2, 2], data: new Float32Array([1, 2, 3, 5]) });
    assert.deepEqual([...untied.keys()].sort(), ['lm_head.weight', 'wte.weight']);
    assert.deepEqual([...untied.get('lm_head.weight')!.data], [1, 2, 3, 5]);
  });

  test('writeSafetensors reproduces the Python-written data section and header entries', async () => {
    const original = await bytes(join(GOLDEN, 'model.safetensors'));
    const parsed = parseSafetensors(original, 'golden');
    const out = join(tmp, 'roundtrip.safetensors');
    await writeSafetensors(out, parsed);
    const written = await bytes(out);
    const headerLen = (b: Uint8Array): number => Number(Buffer.from(b).readBigUInt64LE(0));
    const header = (b: Uint8Array): Record<string, unknown> => JSON.parse(Buffer.from(b.subarray(8, 8 + headerLen(b))).toString('utf8'));
    assert.equal(headerLen(written) % 8, 0);
    assert.deepEqual(header(written), header(original));
    assert.ok(Buffer.from(written.subarray(8 + headerLen(written))).equals(Buffer.from(original.subarray(8 + headerLen(original)))));
    assertSameDict(parseSafetensors(written, 'written'), parsed);
    await writeSafetensors(out, new Map([['x', { shape: [1], data: new Float32Array([7]) }]]), { format: 'pt', step: '3' });
    assert.deepEqual(header(await bytes(out)).__metadata__, { format: 'pt', step: '3' });
  });
});

describe('damaged and missing files', () => {
  test('a folder without weights is MODEL_NOT_FOUND', async () => {
    await rejectsWith(readStateDict(await dirWith({ 'config.json': '{}' })), 'MODEL_NOT_FOUND', 'pytorch_model.bin');
  });

  test('truncated files are MODEL_CORRUPT and name the file', async () => {
    const st = await bytes(join(GOLDEN, 'model.safetensors'));
    const dir1 = await dirWith({ 'model.safetensors': st.subarray(0, Math.floor(st.length / 2)) });
    await rejectsWith(readStateDict(dir1), 'MODEL_CORRUPT', join(dir1, 'model.safetensors'));
    await rejectsWith(readStateDict(await dirWith({ 'model.safetensors': st.subarray(0, 100) })), 'MODEL_CORRUPT');
    const bin = await bytes(join(GOLDEN, 'pytorch_model.bin'));
    const dir2 = await dirWith({ 'pytorch_model.bin': bin.subarray(0, bin.length - 5000) });
    await rejectsWith(readStateDict(dir2), 'MODEL_CORRUPT', join(dir2, 'pytorch_model.bin'));
  });

  test('garbage files are MODEL_CORRUPT', async () => {
    const garbage = new Uint8Array(4096).map((_, i) => (i * 7919 + 13) % 251);
    await rejectsWith(readStateDict(await dirWith({ 'model.safetensors': garbage })), 'MODEL_CORRUPT');
    await rejectsWith(readStateDict(await dirWith({ 'pytorch_model.bin': garbage })), 'MODEL_CORRUPT');
    await rejectsWith(readStateDict(await dirWith({ 'model.safetensors.index.json': 'not json' })), 'MODEL_CORRUPT');
  });
});

describe('pickle safety and tensor layout', () => {
  const hostile = (ops: number[]): Uint8Array => torchZip(new Uint8Array([...P.proto(), ...ops, ...P.stop()]));

  test('os.system via GLOBAL or STACK_GLOBAL is CHECKPOINT_UNSAFE', async () => {
    const viaGlobal = hostile([...P.global('os', 'system'), ...P.str('touch /tmp/pwned'), ...P.tuple1(), ...P.reduce()]);
    await rejectsWith(() => readTorchZip(viaGlobal, 'evil.bin'), 'CHECKPOINT_UNSAFE', 'os.system');
    const viaStack = hostile([...P.stackGlobal('posix', 'system'), ...P.str('id'), ...P.tuple1(), ...P.reduce()]);
    await rejectsWith(() => readTorchZip(viaStack, 'evil.bin'), 'CHECKPOINT_UNSAFE', 'posix.system');
    const dir = await dirWith({ 'pytorch_model.bin': viaGlobal });
    await rejectsWith(readStateDict(dir), 'CHECKPOINT_UNSAFE', join(dir, 'pytorch_model.bin'));
  });

  test('torch.storage._load_from_bytes and object-building opcodes are refused', async () => {
    await rejectsWith(() => readTorchZip(hostile([...P.global('torch.storage', '_load_from_bytes')]), 'x'), 'CHECKPOINT_UNSAFE', '_load_from_bytes');
    await rejectsWith(() => readTorchZip(hostile([...P.global('collections', 'OrderedDict'), ...P.emptyTuple(), 0x81]), 'x'), 'CHECKPOINT_UNSAFE', '0x81');
    await rejectsWith(() => readTorchZip(hostile([0x69, ...Buffer.from('os\nsystem\n')]), 'x'), 'CHECKPOINT_UNSAFE');
  });

  test('storage offsets and shared storages are honoured', () => {
    const storage = new Float32Array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const st = (offset: number, shape: number[], stride: number[]) => ({ storageKey: '0', storageType: 'FloatStorage', storageNumel: 10, offset, shape, stride });
    const pkl = pickleStateDict([['a', st(2, [2, 2], [2, 1])], ['b', st(6, [4], [1])], ['c', st(2, [2, 2], [2, 1])], ['d', st(0, [3, 1], [1, 1])]]);
    const sd = readTorchZip(torchZip(pkl, { '0': storage }, true), 'x');
    assert.deepEqual([...sd.get('a')!.data], [2, 3, 4, 5]);
    assert.deepEqual([...sd.get('b')!.data], [6, 7, 8, 9]);
    assert.equal(sd.get('c'), sd.get('a'));
    assert.deepEqual([...sd.get('d')!.data], [0, 1, 2]);
  });

  test('non-contiguous and out-of-range tensors are rejected clearly', async () => {
    const storage = new Float32Array(4);
    const transposed = pickleStateDict([['w', { storageKey: '0', storageType: 'FloatStorage', storageNumel: 4, offset: 0, shape: [2, 2], stride: [1, 2] }]]);
    await rejectsWith(() => readTorchZip(torchZip(transposed, { '0': storage }), 'x.bin'), 'MODEL_UNSUPPORTED', 'no es contiguo');
    const tooLong = pickleStateDict([['w', { storageKey: '0', storageType: 'FloatStorage', storageNumel: 4, offset: 2, shape: [3], stride: [1] }]]);
    await rejectsWith(() => readTorchZip(torchZip(tooLong, { '0': storage }), 'x.bin'), 'MODEL_CORRUPT');
    const missing = pickleStateDict([['w', { storageKey: '7', storageType: 'FloatStorage', storageNumel: 4, offset: 0, shape: [4], stride: [1] }]]);
    await rejectsWith(() => readTorchZip(torchZip(missing, {}), 'x.bin'), 'MODEL_CORRUPT', 'data/7');
  });
});

test('readStateDict prefers model.safetensors over pytorch_model.bin', async () => {
  const dir = await dirWith({});
  await copyFile(join(GOLDEN, 'pytorch_model.bin'), join(dir, 'pytorch_model.bin'));
  await writeSafetensors(join(dir, 'model.safetensors'), new Map([['wte.weight', { shape: [1], data: new Float32Array([42]) }]]));
  assert.deepEqual([...(await readStateDict(dir)).keys()], ['wte.weight']);
});
