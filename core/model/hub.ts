/**
 * Resolves `--model` to a local folder: a folder with config.json as is, or a Hugging Face Hub id
 * downloaded into the standard HF cache layout (models--org--name/{blobs,snapshots/<commit>,refs/<rev>}),
 * so Python's huggingface_hub and this bot share one cache. Downloads resume from <blob>.incomplete.
 */
import { copyFile, mkdir, open, readFile, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { QuijoteError } from '../errors.ts';

export interface HubProgress { file: string; bytes: number; total: number | null; bytesPerSecond: number }

export interface HubOptions {
  cacheDir: string;
  endpoint: string;
  token?: string;
  offline: boolean;
  revision?: string;
  fetch?: typeof fetch;
  onProgress?: (p: HubProgress) => void;
  /** Monotonic milliseconds for the download speed; defaults to performance.now. */
  now?: () => number;
}

const DEFAULT_ENDPOINT = 'https://huggingface.co';
const ATTEMPTS = 3;
const SAFE_NAME = /^[\w][\w.-]*$/;

/** A failure worth retrying at once: the partial file stays and the next attempt resumes it. */
class Retryable extends Error {}

/** Derives the Hub settings from environment variables, as Python's huggingface_hub does. */
export function hubOptionsFromEnv(env: Record<string, string | undefined>, homeDir: string): Omit<HubOptions, 'fetch' | 'onProgress'> {
  const hfHome = env.HF_HOME || join(env.XDG_CACHE_HOME || join(homeDir, '.cache'), 'huggingface');
  const cacheDir = env.HF_HUB_CACHE || env.HUGGINGFACE_HUB_CACHE || join(hfHome, 'hub');
  const endpoint = (env.HF_ENDPOINT || DEFAULT_ENDPOINT).replace(/\/+$/, '');
  const truthy = (v: string | undefined): boolean => ['1', 'true', 'yes', 'on'].includes((v ?? '').trim().toLowerCase());
  const token = env.HF_TOKEN || env.HUGGING_FACE_HUB_TOKEN || undefined;
  return { cacheDir, endpoint, offline: truthy(env.HF_HUB_OFFLINE) || truthy(env.TRANSFORMERS_OFFLINE), ...(token ? { token } : {}) };
}

export function unit(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} kB`;
  return `${Math.round(n)} B`;
}

/** One CLI progress line, e.g. "model.safetensors  45.2 MB / 510.3 MB  12.1 MB/s". */
export function formatProgress(p: HubProgress): string {
  return `${p.file}  ${unit(p.bytes)} / ${p.total === null ? '?' : unit(p.total)}  ${unit(p.bytesPerSecond)}/s`;
}

async function isFile(path: string): Promise<boolean> {
  try { return (await stat(path)).isFile(); } catch { return false; }
}

async function fileSize(path: string): Promise<number | null> {
  try { return (await stat(path)).size; } catch { return null; }
}

function repoFolder(cacheDir: string, id: string): string {
  return join(cacheDir, `models--${id.replace('/', '--')}`);
}

/** Files a snapshot needs: config, weights (single, sharded or .bin) and a tokenizer. */
async function snapshotComplete(dir: string): Promise<boolean> {
  const has = (f: string): Promise<boolean> => isFile(join(dir, f));
  if (!(await has('config.json'))) return false;
  let weights = (await has('model.safetensors')) || (await has('pytorch_model.bin'));
  if (!weights && (await has('model.safetensors.index.json'))) {
    try {
      const index = JSON.parse(await readFile(join(dir, 'model.safetensors.index.json'), 'utf8')) as { weight_map: Record<string, string> };
      weights = true;
      for (const shard of new Set(Object.values(index.weight_map))) if (!(await has(shard))) weights = false;
    } catch { weights = false; }
  }
  return weights && ((await has('tokenizer.json')) || ((await has('vocab.json')) && (await has('merges.txt'))));
}

/** The cached snapshot for `revision` (a branch/tag name via refs/, or a commit hash), if complete. */
async function cachedSnapshot(repoDir: string, revision: string): Promise<string | null> {
  let commit = revision;
  if (!/^[0-9a-f]{40}$/.test(revision)) {
    try { commit = (await readFile(join(repoDir, 'refs', revision), 'utf8')).trim(); } catch { return null; }
  }
  if (!SAFE_NAME.test(commit)) return null;
  const dir = join(repoDir, 'snapshots', commit);
  return (await snapshotComplete(dir)) ? dir : null;
}

class Hub {
  private readonly fetch: typeof fetch;
  private readonly now: () => number;
  constructor(private readonly id: string, private readonly o: HubOptions, private readonly repoDir: string) {
    this.fetch = o.fetch ?? fetch;
    this.now = o.now ?? (() => performance.now());
  }

  private headers(url: string, extra: Record<string, string> = {}): Record<string, string> {
    const h: Record<string, string> = { 'Accept-Encoding': 'identity', ...extra };
    if (this.o.token && new URL(url).origin === new URL(this.o.endpoint).origin) h.Authorization = `Bearer ${this.o.token}`;
    return h;
  }

  failed(what: string, cause?: unknown): QuijoteError {
    return new QuijoteError('DOWNLOAD_FAILED', `No se pudo descargar ${what} de ${this.id} (${this.o.endpoint}).`, {
      cause, hint: 'Comprueba la conexión y HF_ENDPOINT y vuelve a intentarlo (la descarga se reanuda), o pasa --model CARPETA.',
    });
  }

  /** GET /api/models/{id}/revision/{rev}: commit sha and file names. */
  async repoInfo(revision: string): Promise<{ sha: string; files: Set<string> }> {
    const url = `${this.o.endpoint}/api/models/${this.id}/revision/${encodeURIComponent(revision)}`;
    const res = await this.fetch(url, { headers: this.headers(url) });
    if (res.status === 404 || res.status === 401 || res.status === 403) {
      throw new QuijoteError('MODEL_NOT_FOUND', `«${this.id}» no es una carpeta local y no existe en ${this.o.endpoint} (revisión ${revision}) o es privado.`, {
        hint: 'Revisa el nombre, define HF_TOKEN si es privado, o pasa --model CARPETA con un modelo local.',
      });
    }
    if (!res.ok) throw this.failed(`la lista de archivos (HTTP ${res.status})`);
    const info = (await res.json().catch(() => null)) as { sha?: unknown; siblings?: { rfilename?: unknown }[] } | null;
    if (!info || typeof info.sha !== 'string' || !SAFE_NAME.test(info.sha) || !Array.isArray(info.siblings)) {
      throw this.failed('la lista de archivos (respuesta sin "sha" ni "siblings")');
    }
    return { sha: info.sha, files: new Set(info.siblings.map((s) => String(s.rfilename))) };
  }

  /** HEAD on the resolve URL, following only relative redirects (renamed repos), like huggingface_hub. */
  private async metadata(file: string, commit: string): Promise<{ etag: string; size: number | null; url: string }> {
    let url = `${this.o.endpoint}/${this.id}/resolve/${commit}/${file}`;
    for (let hop = 0; hop < 5; hop++) {
      const res = await this.fetch(url, { method: 'HEAD', redirect: 'manual', headers: this.headers(url) });
      const location = res.headers.get('location');
      const linkedEtag = res.headers.get('x-linked-etag');
      if (res.status >= 300 && res.status < 400 && location && !linkedEtag && location.startsWith('/')) {
        url = new URL(location, url).toString();
        continue;
      }
      if (res.status === 404) throw this.failed(`${file} (no existe en la revisión ${commit})`);
      if (!(res.ok || (res.status >= 300 && res.status < 400))) throw this.failed(`${file} (HTTP ${res.status})`);
      const etag = (linkedEtag ?? res.headers.get('etag') ?? '').replace(/^W\//, '').replace(/"/g, '');
      if (!SAFE_NAME.test(etag)) throw this.failed(`${file} (el servidor no dio un ETag válido)`);
      const sizeHeader = res.headers.get('x-linked-size') ?? (res.ok ? res.headers.get('content-length') : null);
      const size = sizeHeader !== null && /^\d+$/.test(sizeHeader) ? Number(sizeHeader) : null;
      return { etag, size, url: location && res.status >= 300 ? new URL(location, url).toString() : url };
    }
    throw this.failed(`${file} (demasiadas redirecciones)`);
  }

  /** Streams `url` into `<blob>.incomplete`, resuming with a Range request when part of it is there. */
  private async fetchBlob(file: string, url: string, blob: string, size: number | null): Promise<void> {
    const partial = `${blob}.incomplete`;
    let have = (await fileSize(partial)) ?? 0;
    if (size !== null && have > size) { await rm(partial, { force: true }); have = 0; }
    if (size === null || have < size) {
      const res = await this.fetch(url, { headers: this.headers(url, have > 0 ? { Range: `bytes=${have}-` } : {}) });
      if (res.status === 416 && have > 0) {
        await rm(partial, { force: true });
        throw new Retryable('el servidor rechazó reanudar; se empieza de cero');
      }
      if (res.status >= 500) throw new Retryable(`HTTP ${res.status}`);
      if (!res.ok || !res.body) throw this.failed(`${file} (HTTP ${res.status})`);
      if (res.status !== 206) have = 0;
      const total = size ?? (res.headers.get('content-length') !== null ? have + Number(res.headers.get('content-length')) : null);
      const start = this.now();
      let last = -Infinity;
      let got = 0;
      const report = (force: boolean): void => {
        const t = this.now();
        if (!this.o.onProgress || (!force && t - last < 100)) return;
        last = t;
        const secs = (t - start) / 1000;
        this.o.onProgress({ file, bytes: have + got, total, bytesPerSecond: secs > 0 ? got / secs : 0 });
      };
      // Every chunk is on disk before the next is read: what arrived before a failure is kept for resuming.
      const fh = await open(partial, have > 0 ? 'a' : 'w');
      try {
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          await fh.write(chunk);
          got += chunk.length;
          report(false);
        }
      } finally {
        await fh.close();
      }
      report(true);
      have += got;
    }
    if (size !== null && have !== size) {
      if (have > size) await rm(partial, { force: true });
      throw new Retryable(`llegaron ${have} de ${size} bytes`);
    }
    await rename(partial, blob);
  }

  /** Makes snapshots/<commit>/<file> point at blobs/<etag>, downloading the blob when missing. */
  async download(file: string, commit: string): Promise<void> {
    const target = join(this.repoDir, 'snapshots', commit, file);
    if (await isFile(target)) return;
    const meta = await this.metadata(file, commit).catch((cause: unknown) => {
      throw cause instanceof QuijoteError ? cause : this.failed(`${file} (${(cause as Error).message})`, cause);
    });
    const blob = join(this.repoDir, 'blobs', meta.etag);
    await mkdir(dirname(blob), { recursive: true });
    const existing = await fileSize(blob);
    if (existing === null || (meta.size !== null && existing !== meta.size)) {
      for (let attempt = 1; ; attempt++) {
        try {
          await this.fetchBlob(file, meta.url, blob, meta.size);
          break;
        } catch (cause) {
          if (cause instanceof QuijoteError) throw cause;
          if (attempt >= ATTEMPTS) throw this.failed(`${file} (${(cause as Error).message})`, cause);
        }
      }
    }
    await mkdir(dirname(target), { recursive: true });
    await rm(target, { force: true });
    try {
      await symlink(join('..', '..', 'blobs', meta.etag), target);
    } catch {
      await copyFile(blob, target); // filesystems without symlinks (as huggingface_hub does on Windows)
    }
  }
}

/** Which files to fetch, in order, from a repo's file list (the shard index is handled by the caller). */
function plan(files: Set<string>): string[] | null {
  const want = ['config.json'];
  if (files.has('model.safetensors')) want.push('model.safetensors');
  else if (files.has('model.safetensors.index.json')) want.push('model.safetensors.index.json');
  else if (files.has('pytorch_model.bin')) want.push('pytorch_model.bin');
  else return null;
  if (files.has('tokenizer.json')) want.push('tokenizer.json');
  else if (files.has('vocab.json') && files.has('merges.txt')) want.push('vocab.json', 'merges.txt');
  else return null;
  for (const f of ['tokenizer_config.json', 'generation_config.json']) if (files.has(f)) want.push(f);
  return files.has('config.json') ? want : null;
}

/** A folder with config.json is returned as is; `org/name` is resolved through the HF cache (see module comment). */
export async function resolveModel(idOrDir: string, options: HubOptions): Promise<string> {
  if (await isFile(join(idOrDir, 'config.json'))) return idOrDir;
  const dirStat = await stat(idOrDir).catch(() => null);
  const looksLikeId = /^[\w][\w.-]*(\/[\w][\w.-]*)?$/.test(idOrDir) && !idOrDir.includes('..') && !idOrDir.includes('--');
  if (dirStat || !looksLikeId) {
    throw new QuijoteError('MODEL_NOT_FOUND', dirStat
      ? `La carpeta ${idOrDir} no tiene config.json; no parece un modelo de Hugging Face.`
      : `No existe la carpeta ${idOrDir} y no es un id del Hub válido (org/nombre).`, {
      hint: 'Pasa --model CARPETA con config.json y los pesos, o un id del Hub como org/nombre.',
    });
  }
  const revision = options.revision ?? 'main';
  if (!/^[\w][\w./-]*$/.test(revision) || revision.includes('..')) {
    throw new QuijoteError('BAD_ARGUMENT', `Revisión no válida: «${revision}».`, { hint: 'Usa una rama, etiqueta o commit, p. ej. main.' });
  }
  const repoDir = repoFolder(options.cacheDir, idOrDir);
  if (options.offline) {
    const cached = await cachedSnapshot(repoDir, revision);
    if (cached) return cached;
    throw new QuijoteError('OFFLINE', `Modo sin conexión (HF_HUB_OFFLINE) y «${idOrDir}» (${revision}) no está completo en la caché ${options.cacheDir}.`, {
      hint: 'Descárgalo antes con conexión, quita HF_HUB_OFFLINE, o pasa --model CARPETA.',
    });
  }
  const hub = new Hub(idOrDir, options, repoDir);
  let info: { sha: string; files: Set<string> };
  try {
    info = await hub.repoInfo(revision);
  } catch (cause) {
    if (cause instanceof QuijoteError) throw cause;
    const cached = await cachedSnapshot(repoDir, revision); // like huggingface_hub: no connection, use the cache
    if (cached) return cached;
    throw hub.failed('la lista de archivos', cause);
  }
  const files = plan(info.files);
  if (!files) {
    throw new QuijoteError('MODEL_NOT_FOUND', `«${idOrDir}» en ${options.endpoint} no tiene un GPT-2 completo (config.json, model.safetensors o pytorch_model.bin, y tokenizer).`, {
      hint: 'Elige otro modelo del Hub o pasa --model CARPETA.',
    });
  }
  const snapshot = join(repoDir, 'snapshots', info.sha);
  for (const file of files) {
    await hub.download(file, info.sha);
    if (file === 'model.safetensors.index.json') {
      let shards: string[];
      try {
        const index = JSON.parse(await readFile(join(snapshot, file), 'utf8')) as { weight_map: Record<string, string> };
        shards = [...new Set(Object.values(index.weight_map))];
      } catch (cause) {
        throw hub.failed(`${file} (no es un índice válido)`, cause);
      }
      for (const shard of shards) {
        if (!SAFE_NAME.test(shard)) throw hub.failed(`${file} (fragmento con nombre no válido «${shard}»)`);
        await hub.download(shard, info.sha);
      }
    }
  }
  if (revision !== info.sha) {
    const ref = join(repoDir, 'refs', revision);
    await mkdir(dirname(ref), { recursive: true });
    await writeFile(ref, info.sha);
  }
  return snapshot;
}
