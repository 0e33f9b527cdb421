/**
 * The shared model store on a mounted folder (`MODEL_STORE=file:///mnt/modelos`, NFS or any shared mount): class
 * models are published there by the worker that trained them and referenced in the database by URI
 * (file:///mnt/modelos/classes/<class>/run-<id>). Every worker reads them through its own verified local cache.
 *
 * Both directions copy into a temporary sibling folder, hash every byte, write the manifest last and rename the
 * folder into place, so a reader never sees half a model: a folder is there with its manifest, or not at all.
 * Publishing an existing key keeps the first copy (a job taken over by a second worker publishes once).
 * LoRA runs publish their adapter folder only (adapter_config.json + adapter_model.safetensors); the store moves
 * folders and does not look inside them.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { QuijoteError } from '../errors.ts';
import { checkFolder, copyHashed, fsyncDir, listFiles, readManifest, writeManifest, type ManifestFile } from './manifest.ts';

export interface ModelStore {
  /** The store's root URI. */
  readonly root: string;
  /** Publishes a finished local model folder under `key` (e.g. classes/discord-G-C/run-7); returns its URI. */
  publish(localDir: string, key: string): Promise<string>;
  /** A local folder holding the model at `uri`, verified against its manifest (fetched into the cache once). */
  open(uri: string): Promise<string>;
}

const KEY = /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/;

function checkKey(key: string): void {
  if (!KEY.test(key) || key.split('/').some((p) => p === '.' || p === '..')) {
    throw new QuijoteError('BAD_ARGUMENT', `Model key ${JSON.stringify(key)} is not a relative path of safe names.`);
  }
}

function isTaken(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'EPERM';
}

/** Copies `from` into a fresh temporary sibling of `to`, checks each file, writes the manifest, renames into place. */
async function install(from: string, to: string, expected: ManifestFile[] | null): Promise<'installed' | 'already there'> {
  fs.mkdirSync(path.dirname(to), { recursive: true });
  const tmp = path.join(path.dirname(to), `.tmp-${path.basename(to)}-${process.pid}-${randomBytes(4).toString('hex')}`);
  fs.mkdirSync(tmp);
  try {
    const files: ManifestFile[] = [];
    const list = expected ? expected.map((f) => f.path) : listFiles(from);
    for (const rel of list) {
      const got = await copyHashed(path.join(from, ...rel.split('/')), path.join(tmp, ...rel.split('/')));
      const want = expected?.find((f) => f.path === rel);
      if (want && (want.sha256 !== got.sha256 || want.bytes !== got.bytes)) {
        throw new QuijoteError('MODEL_CORRUPT', `${path.join(from, rel)} does not match its manifest (sha256 or size differs).`, {
          hint: 'The shared copy is damaged: train the class again, or restore the folder from a backup.',
        });
      }
      files.push({ path: rel, ...got });
    }
    writeManifest(tmp, files);
    try {
      fs.renameSync(tmp, to);
    } catch (e) {
      if (isTaken(e) && readManifest(to)) return 'already there';
      throw e;
    }
    fsyncDir(path.dirname(to));
    return 'installed';
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

export class FileModelStore implements ModelStore {
  readonly root: string;
  private readonly rootDir: string;
  private readonly inFlight = new Map<string, Promise<string>>();

  /** `root` is a file:// URI; `cacheDir` this machine's local cache folder. */
  constructor(root: string, private readonly cacheDir: string) {
    if (!root.startsWith('file://')) throw new QuijoteError('BAD_CONFIG', `MODEL_STORE must be a file:// URI; got ${root}.`, { hint: 'Use file:///mnt/modelos (a folder every machine mounts at the same path).' });
    this.rootDir = fileURLToPath(root);
    this.root = pathToFileURL(this.rootDir).href;
  }

  uriFor(key: string): string {
    checkKey(key);
    return pathToFileURL(path.join(this.rootDir, ...key.split('/'))).href;
  }

  async publish(localDir: string, key: string): Promise<string> {
    const uri = this.uriFor(key);
    const target = fileURLToPath(uri);
    if (!readManifest(target)) await install(localDir, target, null);
    return uri;
  }

  async open(uri: string): Promise<string> {
    let p = this.inFlight.get(uri);
    if (!p) {
      p = this.fetch(uri).finally(() => this.inFlight.delete(uri));
      this.inFlight.set(uri, p);
    }
    return p;
  }

  private async fetch(uri: string): Promise<string> {
    if (!uri.startsWith(this.root + '/')) {
      throw new QuijoteError('MODEL_NOT_FOUND', `${uri} is not in this model store (${this.root}).`, { hint: 'Every machine needs the same MODEL_STORE.' });
    }
    const source = fileURLToPath(uri);
    const local = path.join(this.cacheDir, `${createHash('sha256').update(uri).digest('hex').slice(0, 16)}-${path.basename(source)}`);
    const cached = readManifest(local);
    if (cached && (await checkFolder(local, cached, 'sizes')) === null) return local;
    if (cached) fs.rmSync(local, { recursive: true, force: true }); // damaged or incomplete: fetch it again
    const manifest = readManifest(source);
    if (!manifest) {
      throw new QuijoteError('MODEL_NOT_FOUND', `The model ${uri} is not in the shared store (no manifest).`, {
        hint: 'Check that this machine mounts the model store at the same path as the worker that trained it.',
      });
    }
    await install(source, local, manifest.files);
    return local;
  }
}

/**
 * Where a run's model lives on this machine: a store URI through the store's cache; a plain path (the embedded
 * mode, and runs from before the model store) as it is.
 */
export async function localModelDir(ref: string, store: ModelStore | null): Promise<string> {
  if (!ref.includes('://')) return ref;
  if (!store) throw new QuijoteError('BAD_CONFIG', `The model ${ref} is in a model store, but MODEL_STORE is not set on this machine.`, { hint: 'Set MODEL_STORE as on the other machines.' });
  return store.open(ref);
}
