import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { lstat, mkdir, mkdtemp, readFile, readlink, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isQuijoteError } from '../core/errors.ts';
import { readStateDict } from '../core/model/checkpoint.ts';
import { formatProgress, hubOptionsFromEnv, resolveModel, type HubOptions, type HubProgress } from '../core/model/hub.ts';
import { parseSafetensors, writeSafetensors } from '../core/model/safetensors.ts';
import { loadTokenizer } from '../core/model/tokenizer.ts';
import { startFakeHub, type FakeHub } from './helpers/fake-hub.ts';

const GOLDEN = fileURLToPath(new URL('./fixtures/gpt2-tiny-golden/', import.meta.url));
const SHA = 'c0ffee0000000000000000000000000000000001';
const SHARDED_SHA = 'c0ffee0000000000000000000000000000000002';
const BIN_SHA = 'c0ffee0000000000000000000000000000000003';

let hub: FakeHub;
let tmp: string;
let golden: Record<string, Uint8Array>;
let cacheCount = 0;

const read = async (p: string): Promise<Uint8Array> => new Uint8Array(await readFile(p));
const exists = (p: string): Promise<boolean> => stat(p).then(() => true, () => false);

before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'quijote-hub-'));
  golden = {};
  for (const f of ['config.json', 'model.safetensors', 'pytorch_model.bin', 'tokenizer.json', 'tokenizer_config.json', 'generation_config.json', 'vocab.json', 'merges.txt']) {
    golden[f] = await read(join(GOLDEN, f));
  }
  const whole = parseSafetensors(golden['model.safetensors'], 'golden');
  const keys = [...whole.keys()];
  const shards: Record<string, Uint8Array> = {};
  const weightMap: Record<string, string> = {};
  for (const [i, part] of [keys.slice(0, 5), keys.slice(5)].entries()) {
    const name = `model-0000${i + 1}-of-00002.safetensors`;
    await writeSafetensors(join(tmp, name), new Map(part.map((k) => [k, whole.get(k)!])));
    shards[name] = await read(join(tmp, name));
    for (const k of part) weightMap[k] = name;
  }
  hub = await startFakeHub({
    'org/tiny': {
      sha: SHA,
      files: { ...golden, 'README.md': new TextEncoder().encode('# tiny\n') },
      lfs: ['model.safetensors', 'pytorch_model.bin'],
    },
    'org/sharded': {
      sha: SHARDED_SHA,
      files: {
        'config.json': golden['config.json'], 'vocab.json': golden['vocab.json'], 'merges.txt': golden['merges.txt'],
        'model.safetensors.index.json': new TextEncoder().encode(JSON.stringify({ metadata: {}, weight_map: weightMap })), ...shards,
      },
      lfs: Object.keys(shards),
    },
    'org/binonly': { sha: BIN_SHA, files: { 'config.json': golden['config.json'], 'pytorch_model.bin': golden['pytorch_model.bin'], 'tokenizer.json': golden['tokenizer.json'] }, lfs: ['pytorch_model.bin'] },
    'org/noweights': { sha: SHA, files: { 'config.json': golden['config.json'], 'tokenizer.json': golden['tokenizer.json'], 'tf_model.h5': new Uint8Array(10) } },
  });
});

after(async () => {
  await hub.close();
  await rm(tmp, { recursive: true, force: true });
});

function opts(extra: Partial<HubOptions> = {}): HubOptions {
  return { cacheDir: join(tmp, `cache${cacheCount++}`), endpoint: hub.endpoint, offline: false, ...extra };
}

async function rejectsWith(p: Promise<unknown>, code: string, mention?: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isQuijoteError(e), `expected QuijoteError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.ok(!e.message.includes('\n'));
    if (mention) assert.ok(e.message.includes(mention), `should mention ${mention}: ${e.message}`);
    return true;
  });
}

describe('hubOptionsFromEnv', () => {
  test('defaults follow huggingface_hub', () => {
    assert.deepEqual(hubOptionsFromEnv({}, '/home/ana'), { cacheDir: '/home/ana/.cache/huggingface/hub', endpoint: 'https://huggingface.co', offline: false });
    assert.equal(hubOptionsFromEnv({ XDG_CACHE_HOME: '/xdg' }, '/h').cacheDir, '/xdg/huggingface/hub');
  });

  test('HF_HOME, HF_HUB_CACHE, HF_ENDPOINT, HF_TOKEN and HF_HUB_OFFLINE', () => {
    assert.equal(hubOptionsFromEnv({ HF_HOME: '/data/hf' }, '/h').cacheDir, '/data/hf/hub');
    assert.equal(hubOptionsFromEnv({ HF_HOME: '/data/hf', HF_HUB_CACHE: '/fast/hub' }, '/h').cacheDir, '/fast/hub');
    const o = hubOptionsFromEnv({ HF_ENDPOINT: 'https://hf-mirror.com/', HF_TOKEN: 'hf_x', HF_HUB_OFFLINE: '1' }, '/h');
    assert.equal(o.endpoint, 'https://hf-mirror.com');
    assert.equal(o.token, 'hf_x');
    assert.equal(o.offline, true);
    assert.equal(hubOptionsFromEnv({ HF_HUB_OFFLINE: '0' }, '/h').offline, false);
    assert.equal(hubOptionsFromEnv({ HF_HUB_OFFLINE: 'TRUE' }, '/h').offline, true);
  });
});

test('formatProgress', () => {
  assert.equal(formatProgress({ file: 'model.safetensors', bytes: 45_200_000, total: 510_300_000, bytesPerSecond: 12_100_000 }), 'model.safetensors  45.2 MB / 510.3 MB  12.1 MB/s');
  assert.equal(formatProgress({ file: 'config.json', bytes: 818, total: null, bytesPerSecond: 1500 }), 'config.json  818 B / ?  1.5 kB/s');
});

describe('resolveModel', () => {
  test('a local folder with config.json is returned as is; a bad folder is MODEL_NOT_FOUND', async () => {
    assert.equal(await resolveModel(GOLDEN, opts({ offline: true })), GOLDEN);
    await rejectsWith(resolveModel(tmp, opts()), 'MODEL_NOT_FOUND', 'config.json');
    await rejectsWith(resolveModel('./no/such/dir', opts()), 'MODEL_NOT_FOUND', '--model');
  });

  test('downloads into the Python cache layout and the result loads', async () => {
    const progress: HubProgress[] = [];
    const o = opts({ onProgress: (p) => progress.push(p), token: 'hf_secret' });
    hub.requests.length = 0;
    const dir = await resolveModel('org/tiny', o);
    const repoDir = join(o.cacheDir, 'models--org--tiny');
    assert.equal(dir, join(repoDir, 'snapshots', SHA));
    assert.equal(await readFile(join(repoDir, 'refs', 'main'), 'utf8'), SHA);
    assert.deepEqual((await readdir(dir)).sort(), ['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
    for (const f of await readdir(dir)) {
      assert.ok((await lstat(join(dir, f))).isSymbolicLink(), `${f} is a symlink`);
      const link = await readlink(join(dir, f));
      assert.match(link, /^\.\.\/\.\.\/blobs\/[\w]+$/);
      assert.ok(Buffer.from(await read(join(dir, f))).equals(Buffer.from(golden[f])), `${f} content`);
    }
    const st = await readlink(join(dir, 'model.safetensors'));
    assert.equal(st, `../../blobs/${createHash('sha256').update(golden['model.safetensors']).digest('hex')}`);
    const cfg = await readlink(join(dir, 'config.json'));
    assert.equal(cfg, `../../blobs/${createHash('sha1').update(golden['config.json']).digest('hex')}`);
    assert.ok(!(await readdir(join(repoDir, 'blobs'))).some((b) => b.endsWith('.incomplete')));
    assert.ok(hub.requests.length > 5 && hub.requests.every((r) => r.authorization === 'Bearer hf_secret'), 'token sent to the endpoint');
    const last = progress.filter((p) => p.file === 'model.safetensors').at(-1)!;
    assert.deepEqual([last.bytes, last.total], [golden['model.safetensors'].length, golden['model.safetensors'].length]);
    assert.equal((await readStateDict(dir)).get('wte.weight')!.data.length, 8192 * 32);
    assert.deepEqual((await loadTokenizer(dir)).encode('En un lugar de la Mancha'), [833, 307, 1885, 260, 279, 1294, 512]);

    hub.requests.length = 0;
    assert.equal(await resolveModel('org/tiny', o), dir);
    assert.deepEqual(hub.requests.map((r) => r.url), ['/api/models/org/tiny/revision/main'], 'second call only asks for the file list');
  });

  test('a download cut mid-file is resumed with a Range request and ends byte-identical', async () => {
    const o = opts();
    const size = golden['model.safetensors'].length;
    hub.cuts.push({ file: 'model.safetensors', afterBytes: 300_000, times: 1 });
    hub.requests.length = 0;
    const dir = await resolveModel('org/tiny', o);
    const gets = hub.requests.filter((r) => r.method === 'GET' && r.url.startsWith('/cdn/'));
    // How much of a cut transfer reaches the client before the socket dies depends on the runtime's chunking
    // (Node 24's fetch keeps less than Node 20's): the resume must start exactly where the partial file ends.
    assert.equal(gets.length, 2);
    assert.equal(gets[0]!.range, null);
    const from = Number(/^bytes=(\d+)-$/.exec(gets[1]!.range ?? '')?.[1]);
    assert.ok(from > 0 && from <= 300_000, `resumed from byte ${from}`);
    assert.equal((await read(join(dir, 'model.safetensors'))).length, size);
    assert.ok(Buffer.from(await read(join(dir, 'model.safetensors'))).equals(Buffer.from(golden['model.safetensors'])));
  });

  test('an interrupted call leaves <blob>.incomplete and the next call resumes it', async () => {
    const o = opts();
    hub.cuts.push({ file: 'model.safetensors', afterBytes: 100_000, times: 3 });
    await rejectsWith(resolveModel('org/tiny', o), 'DOWNLOAD_FAILED', 'model.safetensors');
    const blobs = join(o.cacheDir, 'models--org--tiny', 'blobs');
    const partial = (await readdir(blobs)).filter((b) => b.endsWith('.incomplete'));
    assert.equal(partial.length, 1);
    const kept = (await stat(join(blobs, partial[0]))).size; // up to 3 × 100 000 bytes, as the runtime delivered them
    assert.ok(kept > 0 && kept <= 300_000, `${kept} bytes kept`);
    assert.ok(!(await exists(join(o.cacheDir, 'models--org--tiny', 'refs', 'main'))));

    hub.requests.length = 0;
    const dir = await resolveModel('org/tiny', o);
    const gets = hub.requests.filter((r) => r.method === 'GET' && r.url.startsWith('/cdn/'));
    assert.deepEqual(gets.map((r) => r.range), [`bytes=${kept}-`]);
    assert.ok(Buffer.from(await read(join(dir, 'model.safetensors'))).equals(Buffer.from(golden['model.safetensors'])));
    assert.ok(!(await readdir(blobs)).some((b) => b.endsWith('.incomplete')));
  });

  test('sharded weights and vocab.json + merges.txt are fetched when there is no single file', async () => {
    const dir = await resolveModel('org/sharded', opts());
    assert.deepEqual((await readdir(dir)).sort(), ['config.json', 'merges.txt', 'model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors', 'model.safetensors.index.json', 'vocab.json']);
    const a = await readStateDict(dir);
    const b = await readStateDict(GOLDEN);
    assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort());
    assert.deepEqual([...a.get('wte.weight')!.data.slice(0, 64)], [...b.get('wte.weight')!.data.slice(0, 64)]);
    assert.deepEqual((await loadTokenizer(dir)).encode('hidalgo'), (await loadTokenizer(GOLDEN)).encode('hidalgo'));
  });

  test('pytorch_model.bin is used when there is no safetensors', async () => {
    const dir = await resolveModel('org/binonly', opts());
    assert.deepEqual((await readdir(dir)).sort(), ['config.json', 'pytorch_model.bin', 'tokenizer.json']);
    assert.equal((await readStateDict(dir)).size, 28);
  });

  test('unknown repos, revisions and repos without weights are MODEL_NOT_FOUND', async () => {
    await rejectsWith(resolveModel('org/missing', opts()), 'MODEL_NOT_FOUND', 'org/missing');
    await rejectsWith(resolveModel('org/tiny', opts({ revision: 'v9' })), 'MODEL_NOT_FOUND', 'v9');
    await rejectsWith(resolveModel('org/noweights', opts()), 'MODEL_NOT_FOUND', 'model.safetensors');
  });

  test('offline mode uses only the cache', async () => {
    const o = opts();
    const noNetwork = (() => { throw new Error('network used in offline mode'); }) as unknown as typeof fetch;
    await rejectsWith(resolveModel('org/tiny', { ...o, offline: true, fetch: noNetwork }), 'OFFLINE', 'org/tiny');
    const dir = await resolveModel('org/tiny', o);
    assert.equal(await resolveModel('org/tiny', { ...o, offline: true, fetch: noNetwork }), dir);
    assert.equal(await resolveModel('org/tiny', { ...o, revision: SHA, offline: true, fetch: noNetwork }), dir);
    await rm(join(dir, 'model.safetensors'));
    await rejectsWith(resolveModel('org/tiny', { ...o, offline: true, fetch: noNetwork }), 'OFFLINE');
  });

  test('without a connection the cache is used, and with no cache the error is DOWNLOAD_FAILED', async () => {
    const o = opts();
    const dir = await resolveModel('org/tiny', o);
    const down = { endpoint: 'http://127.0.0.1:9' };
    assert.equal(await resolveModel('org/tiny', { ...o, ...down }), dir);
    await rejectsWith(resolveModel('org/tiny', opts(down)), 'DOWNLOAD_FAILED', 'http://127.0.0.1:9');
  });

  test('a stale partial file larger than the blob is discarded', async () => {
    const o = opts();
    const blobs = join(o.cacheDir, 'models--org--tiny', 'blobs');
    await mkdir(blobs, { recursive: true });
    const hash = createHash('sha256').update(golden['model.safetensors']).digest('hex');
    await writeFile(join(blobs, `${hash}.incomplete`), new Uint8Array(golden['model.safetensors'].length + 10));
    const dir = await resolveModel('org/tiny', o);
    assert.ok(Buffer.from(await read(join(dir, 'model.safetensors'))).equals(Buffer.from(golden['model.safetensors'])));
    assert.equal(resolve(dir), resolve(o.cacheDir, 'models--org--tiny', 'snapshots', SHA));
  });
});
