/**
 * The migration runner for PostgreSQL: the same ordered list as SQLite (core/store/migrations.ts), each migration in
 * its own transaction. Several processes (front-ends, workers) start at once against one database, so the whole
 * run holds a session-level advisory lock: the first applies what is missing, the others wait and then find
 * nothing left to do.
 */
import type pg from 'pg';
import { QuijoteError } from '../errors.ts';
import { migrations, type Migration } from './migrations.ts';

/** The advisory lock key (any fixed 64-bit number; this one spells "quijote"). */
export const MIGRATION_LOCK_KEY = '124749110801509'; // 0x71756a6f7465

export async function migratePostgres(pool: pg.Pool, now: number, list: Migration[] = migrations): Promise<number[]> {
  const c = await pool.connect();
  try {
    await c.query(`SELECT pg_advisory_lock(${MIGRATION_LOCK_KEY})`);
    try {
      await c.query('CREATE TABLE IF NOT EXISTS migrations (id INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)');
      const applied = new Set((await c.query('SELECT id FROM migrations')).rows.map((r) => Number(r.id)));
      const known = new Set(list.map((m) => m.id));
      const unknown = [...applied].filter((id) => !known.has(id));
      if (unknown.length > 0) {
        throw new QuijoteError('BAD_CONFIG', `The database has migrations this version does not know (${unknown.join(', ')}).`, {
          hint: 'It was written by a newer quijote-bot: update every process of the district to the same version.',
        });
      }
      const done: number[] = [];
      for (const m of [...list].sort((a, b) => a.id - b.id)) {
        if (applied.has(m.id)) continue;
        await c.query('BEGIN');
        try {
          await c.query(m.postgres ?? m.sql);
          await c.query('INSERT INTO migrations (id, name, applied_at) VALUES ($1, $2, $3)', [m.id, m.name, now]);
          await c.query('COMMIT');
        } catch (e) {
          await c.query('ROLLBACK');
          throw new QuijoteError('INTERNAL', `Migration ${m.id} (${m.name}) failed on PostgreSQL: ${(e as Error).message}.`, { cause: e });
        }
        done.push(m.id);
      }
      return done;
    } finally {
      await c.query(`SELECT pg_advisory_unlock(${MIGRATION_LOCK_KEY})`).catch(() => {});
    }
  } finally {
    c.release();
  }
}
