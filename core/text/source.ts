/**
 * Where the book text comes from: a local file, or the Gutenberg URL downloaded once into a cache folder
 * (written to a temporary file and renamed, so a crash never leaves a half file behind).
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { QuijoteError } from '../errors.ts';
import { hasGutenbergMarkers } from './gutenberg.ts';

export const DEFAULT_GUTENBERG_URL = 'https://www.gutenberg.org/cache/epub/2000/pg2000.txt';

function decodeUtf8(bytes: Uint8Array, source: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch (cause) {
    throw new QuijoteError('BAD_ARGUMENT', `${source} no es texto UTF-8.`, {
      cause,
      hint: 'Usa la versión «Plain Text UTF-8» de Project Gutenberg.',
    });
  }
}

function errnoCode(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e ? String((e as { code: unknown }).code) : undefined;
}

/** Cache file for a URL: its last path segment (sanitized) plus a short hash of the whole URL. */
export function cachePathFor(url: string, cacheDir: string): string {
  let name = 'book.txt';
  try {
    const last = basename(new URL(url).pathname).replace(/[^A-Za-z0-9._-]/g, '_');
    if (last && last !== '.' && last !== '..') name = last;
  } catch {
    // not a URL: the fetch below reports it
  }
  const hash = createHash('sha256').update(url).digest('hex').slice(0, 8);
  const dot = name.lastIndexOf('.');
  const stem = dot > 0 ? name.slice(0, dot) : name;
  const ext = dot > 0 ? name.slice(dot) : '.txt';
  return join(cacheDir, `${stem}-${hash}${ext}`);
}

async function readLocal(file: string): Promise<string> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (cause) {
    const code = errnoCode(cause);
    const what = code === 'ENOENT' ? 'no existe' : code === 'EISDIR' ? 'es una carpeta, no un archivo' : `no se puede leer (${code ?? String(cause)})`;
    throw new QuijoteError('TEXT_NOT_FOUND', `El texto del Quijote ${file} ${what}.`, {
      cause,
      hint: 'Corrige QUIJOTE_TEXT o déjalo vacío para descargarlo de Project Gutenberg.',
    });
  }
  return decodeUtf8(bytes, file);
}

/** Bytes received so far and the expected total (Content-Length), while the book downloads. */
export type BookProgress = (bytes: number, total: number | null) => void;

async function download(url: string, fetchFn: typeof fetch, signal?: AbortSignal, onProgress?: BookProgress): Promise<string> {
  const hint = 'Revisa la conexión y GUTENBERG_URL, o descarga el .txt a mano y apunta QUIJOTE_TEXT a él.';
  let res: Response;
  try {
    res = await fetchFn(url, { signal, redirect: 'follow' });
  } catch (cause) {
    throw new QuijoteError('DOWNLOAD_FAILED', `No se pudo descargar ${url}: ${cause instanceof Error ? cause.message : String(cause)}.`, { cause, hint });
  }
  if (!res.ok) {
    throw new QuijoteError('DOWNLOAD_FAILED', `No se pudo descargar ${url}: HTTP ${res.status} ${res.statusText}.`, { hint });
  }
  const text = decodeUtf8(await readBody(res, onProgress), url);
  if (!hasGutenbergMarkers(text)) {
    throw new QuijoteError('DOWNLOAD_FAILED', `Lo descargado de ${url} no es un texto de Project Gutenberg (faltan las marcas START/END).`, { hint });
  }
  return text;
}

/** The response body, reporting progress chunk by chunk when asked to. */
async function readBody(res: Response, onProgress?: BookProgress): Promise<Uint8Array> {
  if (!onProgress || !res.body) return new Uint8Array(await res.arrayBuffer());
  const header = res.headers.get('content-length');
  const total = header !== null && /^\d+$/.test(header) ? Number(header) : null;
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    chunks.push(chunk);
    bytes += chunk.length;
    onProgress(bytes, total);
  }
  const all = new Uint8Array(bytes);
  let at = 0;
  for (const c of chunks) { all.set(c, at); at += c.length; }
  return all;
}

/**
 * The book's raw text and a `source` label for messages (the local file or the cache file).
 * With `file`, reads it (TEXT_NOT_FOUND when missing). Otherwise reads the cached download of `url`,
 * downloading it first when the cache is empty.
 */
export async function loadBookText(opts: {
  file?: string;
  url: string;
  cacheDir: string;
  fetch?: typeof fetch;
  signal?: AbortSignal;
  onProgress?: BookProgress;
}): Promise<{ text: string; source: string }> {
  if (opts.file) return { text: await readLocal(opts.file), source: opts.file };
  const path = cachePathFor(opts.url, opts.cacheDir);
  try {
    return { text: decodeUtf8(await readFile(path), path), source: path };
  } catch (e) {
    if (errnoCode(e) !== 'ENOENT') throw e;
  }
  const text = await download(opts.url, opts.fetch ?? fetch, opts.signal, opts.onProgress);
  await mkdir(opts.cacheDir, { recursive: true });
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, text, 'utf8');
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  return { text, source: path };
}

/** Writes the selected training lines to `dir/don_quijote_<n>.txt` (one line each) and returns the path. */
export async function writeSelectedLines(dir: string, n: number, lines: string[]): Promise<string> {
  if (!Number.isInteger(n) || n < 1) {
    throw new QuijoteError('BAD_ARGUMENT', `writeSelectedLines: n debe ser un entero positivo; recibido: ${String(n)}.`);
  }
  await mkdir(dir, { recursive: true });
  const path = join(dir, `don_quijote_${n}.txt`);
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, lines.join('\n') + '\n', 'utf8');
  await rename(tmp, path);
  return path;
}
