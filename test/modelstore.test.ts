/**
 * The shared model store (file://) and each worker's verified local cache: publish and fetch copy whole folders
 * with a sha256 manifest written last and an atomic rename, so nobody reads half a model.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { after, test } from 'node:test';
import { isQuijoteError } from '../core/errors.ts';
import { FileModelStore, localModelDir } from '../core/modelstore/file-store.ts';
import { MANIFEST_FILE, readManifest } from '../core/modelstore/manifest.ts';

const dirs: string[] = [];
const tmp = (p = 'quijote-ms-') => { const d = fs.mkdtempSync(path.join(os.tmpdir(), p)); dirs.push(d); return d; };
after(() => { for (const d of dirs) fs.rmSync(d, { recursive: true, force: true }); });

/** A LoRA run's adapter-only folder, as the engine writes it (content is random: the store never parses it). */
function adapterFolder(): string {
  const d = tmp('adapter-');
  fs.writeFileSync(path.join(d, 'adapter_config.json'), JSON.stringify({ peft_type: 'LORA', r: 8, lora_alpha: 16, target_modules: ['c_attn'] }));
  fs.writeFileSync(path.join(d, 'adapter_model.safetensors'), randomBytes(1_200_000));
  fs.mkdirSync(path.join(d, 'extra'));
  fs.writeFileSync(path.join(d, 'extra', 'loss.json'), '[4.1, 3.9]');
  return d;
}

const sha = (f: string) => createHash('sha256').update(fs.readFileSync(f)).digest('hex');
const tree = (d: string) => fs.readdirSync(d, { recursive: true }).map(String).filter((f) => fs.statSync(path.join(d, f)).isFile()).sort();
const sameFiles = (a: string, b: string) => {
  const fa = tree(a).filter((f) => f !== MANIFEST_FILE);
  assert.deepEqual(fa, tree(b).filter((f) => f !== MANIFEST_FILE));
  for (const f of fa) assert.equal(sha(path.join(a, f)), sha(path.join(b, f)), f);
};

test('publish: the folder lands whole under its key with a sha256 manifest, and no temporary folder is left', async () => {
  const shared = tmp();
  const store = new FileModelStore(pathToFileURL(shared).href, tmp());
  const src = adapterFolder();
  const uri = await store.publish(src, 'classes/discord-G1-C1/run-7');
  assert.equal(uri, pathToFileURL(path.join(shared, 'classes', 'discord-G1-C1', 'run-7')).href);
  const dir = fileURLToPath(uri);
  sameFiles(src, dir);
  const m = readManifest(dir);
  assert.deepEqual(m?.files.map((f) => [f.path, f.bytes, f.sha256]), tree(src).map((f) => [f.split(path.sep).join('/'), fs.statSync(path.join(src, f)).size, sha(path.join(src, f))]));
  assert.deepEqual(fs.readdirSync(path.dirname(dir)), ['run-7'], 'no .tmp- folder left');
  assert.equal(await store.publish(adapterFolder(), 'classes/discord-G1-C1/run-7'), uri, 'publishing the key again keeps the first copy');
  sameFiles(src, dir);
});

test('two workers publishing the same key at once (a taken-over job): one copy, both get the URI', async () => {
  const shared = tmp();
  const a = new FileModelStore(pathToFileURL(shared).href, tmp());
  const b = new FileModelStore(pathToFileURL(shared).href, tmp());
  const [s1, s2] = [adapterFolder(), adapterFolder()];
  const [u1, u2] = await Promise.all([a.publish(s1, 'k/run-1'), b.publish(s2, 'k/run-1')]);
  assert.equal(u1, u2);
  const dir = fileURLToPath(u1);
  const m = readManifest(dir);
  const winner = m?.files.find((f) => f.path === 'adapter_model.safetensors')?.sha256 === sha(path.join(s1, 'adapter_model.safetensors')) ? s1 : s2;
  sameFiles(winner, dir);
  assert.deepEqual(fs.readdirSync(path.join(shared, 'k')), ['run-1']);
});

test('open: another worker gets a verified local copy once, and keeps using it without the share', async () => {
  const shared = tmp();
  const trainer = new FileModelStore(pathToFileURL(shared).href, tmp());
  const src = adapterFolder();
  const uri = await trainer.publish(src, 'classes/x/run-1');
  const cache = tmp();
  const worker2 = new FileModelStore(pathToFileURL(shared).href, cache);
  const [l1, l2] = await Promise.all([worker2.open(uri), worker2.open(uri)]);
  assert.equal(l1, l2);
  assert.ok(l1.startsWith(cache + path.sep));
  sameFiles(src, l1);
  assert.ok(readManifest(l1));
  fs.rmSync(fileURLToPath(uri), { recursive: true }); // the share goes away: the cache still serves it
  assert.equal(await worker2.open(uri), l1);
  assert.equal(await localModelDir(uri, worker2), l1);
  assert.equal(await localModelDir('/data/classes/x/run-1', null), '/data/classes/x/run-1', 'plain paths (embedded mode) as they are');
  await assert.rejects(localModelDir(uri, null), (e) => isQuijoteError(e, 'BAD_CONFIG'));
});

test('a damaged cache entry is fetched again; a damaged shared copy is refused and leaves nothing in the cache', async () => {
  const shared = tmp();
  const store = new FileModelStore(pathToFileURL(shared).href, tmp());
  const src = adapterFolder();
  const uri = await store.publish(src, 'c/run-2');
  const cache = tmp();
  const w = new FileModelStore(pathToFileURL(shared).href, cache);
  const local = await w.open(uri);
  fs.truncateSync(path.join(local, 'adapter_model.safetensors'), 1000);
  assert.equal(await w.open(uri), local);
  sameFiles(src, local);

  const weights = path.join(fileURLToPath(uri), 'adapter_model.safetensors');
  const bytes = fs.readFileSync(weights);
  bytes[500_000] ^= 0xff; // same size, one flipped byte
  fs.writeFileSync(weights, bytes);
  const fresh = tmp();
  const w3 = new FileModelStore(pathToFileURL(shared).href, fresh);
  await assert.rejects(w3.open(uri), (e) => isQuijoteError(e, 'MODEL_CORRUPT') && /adapter_model\.safetensors/.test(e.message));
  assert.deepEqual(fs.readdirSync(fresh), [], 'no entry and no temporary folder');
});

test('unpublished or half-published models are not found; bad keys and roots are refused', async () => {
  const shared = tmp();
  const store = new FileModelStore(pathToFileURL(shared).href, tmp());
  await assert.rejects(store.open(store.uriFor('c/run-9')), (e) => isQuijoteError(e, 'MODEL_NOT_FOUND'));
  fs.mkdirSync(path.join(shared, 'c', 'run-8'), { recursive: true }); // a folder without manifest is not a model
  fs.writeFileSync(path.join(shared, 'c', 'run-8', 'adapter_config.json'), '{}');
  await assert.rejects(store.open(store.uriFor('c/run-8')), (e) => isQuijoteError(e, 'MODEL_NOT_FOUND'));
  await assert.rejects(store.open('file:///elsewhere/run-1'), (e) => isQuijoteError(e, 'MODEL_NOT_FOUND'));
  for (const k of ['../x', 'a/../../b', '/abs', 'a b', '']) assert.throws(() => store.uriFor(k), (e) => isQuijoteError(e, 'BAD_ARGUMENT'), k);
  assert.throws(() => new FileModelStore('s3://bucket/models', tmp()), (e) => isQuijoteError(e, 'BAD_CONFIG'));
});
