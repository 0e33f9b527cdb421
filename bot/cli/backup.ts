/**
 * `quijote backup [--out FICHERO] [--json]`: a consistent copy of DATA_DIR/quijote.sqlite made with SQLite's online
 * backup, safe while the bot is running (it keeps writing; pages changed meanwhile are copied again). The copy is
 * opened and checked (PRAGMA integrity_check) before the command says it is done.
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { AppConfig } from '../../config/index.ts';
import { QuijoteError } from '../../core/errors.ts';
import { STORE_FILE } from '../../core/store/paths.ts';
import { openStore } from '../../core/store/store.ts';

export interface BackupResult {
  source: string;
  backup: string;
  pages: number;
  bytes: number;
  polls: number;
  votes: number;
}

const stamp = (d: Date) => d.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z').replace('T', '-');

export async function backupStore(config: Pick<AppConfig, 'dataDir'>, out: string | undefined, now: Date = new Date()): Promise<BackupResult> {
  const source = path.join(config.dataDir, STORE_FILE);
  if (!existsSync(source)) {
    throw new QuijoteError('NOT_FOUND', `No hay base de datos que copiar en ${source}.`, { hint: 'Comprueba DATA_DIR (el mismo que usa el bot).' });
  }
  const target = path.resolve(out ?? path.join(config.dataDir, 'backups', `quijote-${stamp(now)}.sqlite`));
  if (existsSync(target)) throw new QuijoteError('BAD_ARGUMENT', `${target} ya existe; no la sobrescribo.`, { hint: 'Elige otro --out.' });
  mkdirSync(path.dirname(target), { recursive: true });
  const store = openStore({ dataDir: config.dataDir, clock: { now: () => now.getTime() } });
  let pages: number;
  try {
    pages = (await store.backup(target)).totalPages;
  } finally {
    store.close();
  }
  const copy = new Database(target, { readonly: true });
  try {
    const check = copy.pragma('integrity_check', { simple: true });
    if (check !== 'ok') throw new QuijoteError('INTERNAL', `La copia ${target} no pasó integrity_check: ${String(check)}.`, { hint: 'Vuelve a intentarlo.' });
    const count = (table: string) => Number((copy.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n);
    const bytes = Number(copy.pragma('page_count', { simple: true })) * Number(copy.pragma('page_size', { simple: true }));
    return { source, backup: target, pages, bytes, polls: count('polls'), votes: count('votes') };
  } finally {
    copy.close();
  }
}
