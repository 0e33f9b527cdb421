/**
 * The base model's evaluation loss never changes for given model files, evaluation lines and block size, so it
 * is computed once and kept in DATA_DIR/eval-loss-cache.json, keyed by sha256(model files' hash, eval text,
 * block size). A fine-tuned folder records its own after-training loss in training_summary.json with the same
 * eval key, so `story --compare` and the demo reuse what the training computed.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** Files whose bytes define what a model computes (weights, config, tokenizer). */
const MODEL_FILES = ['config.json', 'model.safetensors', 'model.safetensors.index.json', 'pytorch_model.bin', 'tokenizer.json', 'vocab.json', 'merges.txt', 'tokenizer_config.json', 'special_tokens_map.json'];

async function hashFile(h: ReturnType<typeof createHash>, path: string): Promise<void> {
  await new Promise<void>((done, fail) => {
    createReadStream(path).on('data', (d) => h.update(d)).on('end', () => done()).on('error', fail);
  });
}

/** sha256 over a model folder's files (names and bytes; shards listed in the index included). ~1 s per 500 MB. */
export async function modelFingerprint(dir: string): Promise<string> {
  const h = createHash('sha256');
  const files = [...MODEL_FILES];
  const index = join(dir, 'model.safetensors.index.json');
  if (existsSync(index)) {
    const map = (JSON.parse(await readFile(index, 'utf8')) as { weight_map?: Record<string, string> }).weight_map ?? {};
    files.push(...[...new Set(Object.values(map))].sort());
  }
  for (const f of files) {
    const p = join(dir, f);
    if (!existsSync(p)) continue;
    h.update(`${f}\0${(await stat(p)).size}\0`);
    await hashFile(h, p);
  }
  return h.digest('hex');
}

/** The evaluation set's identity: its text and block size. */
export function evalKey(evalText: string, blockSize: number): string {
  return createHash('sha256').update(`${blockSize}\0${evalText}`).digest('hex');
}

interface Entry { loss: number; model: string; blocks: number; backend: string; at: string }

export interface EvalLossCache {
  get(fingerprint: string, key: string): Promise<number | null>;
  put(fingerprint: string, key: string, entry: Omit<Entry, 'at'>, now: Date): Promise<void>;
}

/** A JSON file of entries; a missing or unreadable file is an empty cache (the loss is then recomputed). */
export function evalLossCache(dataDir: string): EvalLossCache {
  const file = join(dataDir, 'eval-loss-cache.json');
  const read = async (): Promise<Record<string, Entry>> => {
    try {
      return JSON.parse(await readFile(file, 'utf8')) as Record<string, Entry>;
    } catch {
      return {};
    }
  };
  const id = (fingerprint: string, key: string) => createHash('sha256').update(`${fingerprint}\0${key}`).digest('hex');
  return {
    async get(fingerprint, key) {
      const e = (await read())[id(fingerprint, key)];
      return e && Number.isFinite(e.loss) ? e.loss : null;
    },
    async put(fingerprint, key, entry, now) {
      const all = await read();
      all[id(fingerprint, key)] = { ...entry, at: now.toISOString() };
      await mkdir(dirname(file), { recursive: true });
      const tmp = `${file}.${randomUUID()}.tmp`; // atomic: a reader never sees half a file
      await writeFile(tmp, JSON.stringify(all, null, 2) + '\n');
      await rename(tmp, file);
    },
  };
}
