/**
 * `quijote download [--model ID] [--text]`: fetches the base model into the Hugging Face cache and the book into
 * DATA_DIR before class, with the Hub code's progress, resume and size checks (core/model/hub.ts) and the book's
 * marker check (core/text/source.ts). Idempotent: what is complete is not fetched again, and once done the bot,
 * the CLI and this command itself work offline (HF_HUB_OFFLINE=1 or no connection).
 */
import { readdir, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { hubOptionsFromEnv, resolveModel, unit } from '../../core/model/hub.ts';
import { extractBodyLines } from '../../core/text/gutenberg.ts';
import { loadBookText } from '../../core/text/source.ts';
import type { CliContext } from './commands.ts';
import { downloadLine, statusWriter } from './progress.ts';

/** Bytes under `dir`, following the snapshot's symlinks into blobs/. */
async function folderBytes(dir: string): Promise<number> {
  let total = 0;
  for (const name of await readdir(dir)) total += (await stat(join(dir, name))).size;
  return total;
}

export async function download(c: CliContext): Promise<number> {
  const raw = c.flags as Record<string, unknown>; // here --text is a boolean (bot/cli/spec.ts)
  const wantModel = c.flags.model !== undefined || raw.text !== true;
  const wantText = raw.text === true || c.flags.model === undefined;
  const json = c.flags.json === true;
  const say = (s: string) => { if (!json) process.stdout.write(s + '\n'); };
  const status = statusWriter(process.stderr, () => Date.now(), 2000);
  const report: Record<string, unknown> = {};

  if (wantModel) {
    const id = c.flags.model ?? c.config.model;
    const hub = hubOptionsFromEnv(c.config.hf, homedir());
    const dir = await resolveModel(id, {
      ...hub,
      onProgress: json ? undefined : (p) => status((columns) => downloadLine(p, columns), p.total !== null && p.bytes >= p.total),
    });
    const bytes = await folderBytes(dir);
    const local = resolve(dir) === resolve(id);
    say(local ? `modelo: ${id} es una carpeta local; no hay nada que descargar.` : `modelo ${id}: listo en ${dir} (${unit(bytes)}).`);
    report.model = { id, dir, bytes, local };
  }

  if (wantText) {
    const { file, url, startAt } = c.config.text;
    const started = performance.now();
    const { text, source } = await loadBookText({
      file: file ?? undefined, url, cacheDir: join(c.config.dataDir, 'gutenberg'),
      onProgress: json ? undefined : (bytes, total) => {
        const bytesPerSecond = bytes / Math.max(1e-3, (performance.now() - started) / 1000);
        status((columns) => downloadLine({ file: 'libro', bytes, total, bytesPerSecond }, columns), total !== null && bytes >= total);
      },
    });
    const lines = extractBodyLines(text, { source, startAt: startAt ?? undefined }).length;
    say(file ? `libro: ${file} es un archivo local (QUIJOTE_TEXT), ${lines} líneas; no hay nada que descargar.` : `libro: listo en ${source} (${unit(Buffer.byteLength(text))}, ${lines} líneas).`);
    report.text = { url: file ? null : url, file: source, lines };
  }

  if (json) process.stdout.write(JSON.stringify(report) + '\n');
  else say('Listo: npm start, quijote train y quijote demo ya no necesitan conexión para esto (HF_HUB_OFFLINE=1 lo garantiza).');
  return 0;
}
