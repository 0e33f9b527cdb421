/**
 * A model folder's manifest: every file with its size and sha256. It is written LAST, after every file is in
 * place and flushed, so a folder with a manifest is complete; a folder without one is a copy that did not finish.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { QuijoteError } from '../errors.ts';

export const MANIFEST_FILE = 'quijote-manifest.json';
export const MANIFEST_FORMAT = 'quijote-model/1';

export interface ManifestFile {
  /** Relative path with '/' separators. */
  path: string;
  bytes: number;
  sha256: string;
}

export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  files: ManifestFile[];
}

/** Relative paths of every regular file under `dir` (sorted, '/' separators), the manifest itself excluded. */
export function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(r);
      else if (e.isFile() && r !== MANIFEST_FILE) out.push(r);
      else if (!e.isFile()) throw new QuijoteError('MODEL_UNSUPPORTED', `${path.join(dir, r)} is neither a file nor a folder.`, { hint: 'A model folder holds plain files only (no links).' });
    }
  };
  walk('');
  return out.sort();
}

export async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** Copies `from` to `to` (flushed to disk) and returns the sha256 of the bytes copied. */
export async function copyHashed(from: string, to: string): Promise<{ sha256: string; bytes: number }> {
  fs.mkdirSync(path.dirname(to), { recursive: true });
  const h = createHash('sha256');
  let bytes = 0;
  const fd = fs.openSync(to, 'w');
  try {
    for await (const chunk of fs.createReadStream(from)) {
      const b = chunk as Buffer;
      h.update(b);
      bytes += b.length;
      let off = 0;
      while (off < b.length) off += fs.writeSync(fd, b, off, b.length - off);
    }
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  return { sha256: h.digest('hex'), bytes };
}

export function readManifest(dir: string): Manifest | null {
  let raw: string;
  try {
    raw = fs.readFileSync(path.join(dir, MANIFEST_FILE), 'utf8');
  } catch {
    return null;
  }
  const m = JSON.parse(raw) as Manifest;
  if (m.format !== MANIFEST_FORMAT || !Array.isArray(m.files)) {
    throw new QuijoteError('MODEL_CORRUPT', `${path.join(dir, MANIFEST_FILE)} is not a ${MANIFEST_FORMAT} manifest.`, { hint: 'Publish the model again.' });
  }
  return m;
}

/** Writes the manifest (last) and flushes it and its folder. */
export function writeManifest(dir: string, files: ManifestFile[]): Manifest {
  const manifest: Manifest = { format: MANIFEST_FORMAT, files: [...files].sort((a, b) => a.path.localeCompare(b.path)) };
  const file = path.join(dir, MANIFEST_FILE);
  const fd = fs.openSync(file, 'w');
  try {
    fs.writeSync(fd, JSON.stringify(manifest, null, 1) + '\n');
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fsyncDir(dir);
  return manifest;
}

export function fsyncDir(dir: string): void {
  try {
    const fd = fs.openSync(dir, 'r');
    try { fs.fsyncSync(fd); } finally { fs.closeSync(fd); }
  } catch {
    // some file systems (and Windows) cannot fsync a folder; the rename is still atomic
  }
}

/**
 * Checks a folder against its manifest: 'sizes' compares the file list and sizes (cheap, for every use of a cache
 * entry), 'full' also every sha256. Returns what is wrong, or null when the folder matches.
 */
export async function checkFolder(dir: string, manifest: Manifest, depth: 'sizes' | 'full'): Promise<string | null> {
  const present = listFiles(dir);
  const expected = manifest.files.map((f) => f.path);
  if (present.join('\n') !== [...expected].sort().join('\n')) return `files differ from the manifest (${present.length} present, ${expected.length} listed)`;
  for (const f of manifest.files) {
    const p = path.join(dir, ...f.path.split('/'));
    const size = fs.statSync(p).size;
    if (size !== f.bytes) return `${f.path} has ${size} bytes, the manifest says ${f.bytes}`;
    if (depth === 'full' && (await sha256File(p)) !== f.sha256) return `${f.path} does not match its sha256`;
  }
  return null;
}
