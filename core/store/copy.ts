/**
 * `quijote store copy sqlite:<DATA_DIR or file> postgres://…`: moves a teacher's classes, runs, stories, polls and
 * votes from the embedded SQLite store into a district's PostgreSQL store, in one transaction.
 *
 * The district database already holds other teachers' data, so rows get new ids there (every reference is
 * remapped), and a class that already has data in the target is refused before anything is written (a second
 * copy would duplicate it). Runs that were queued or running are copied as 'interrupted': nothing runs them there.
 * With a model store, each finished run's model folder is published there and the run points at its URI.
 * Sweeps, the runs' sweep and the class model chosen with /usar are remapped the same way.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { QuijoteError } from '../errors.ts';
import type { ModelStore } from '../modelstore/file-store.ts';
import { migrations } from './migrations.ts';
import { runModelKey, STORE_FILE } from './paths.ts';
import { PostgresStore } from './postgres.ts';
import type { Clock } from './types.ts';
import type { Place } from '../place.ts';

type Row = Record<string, unknown>;

export interface CopyReport {
  classes: number;
  runs: number;
  stories: number;
  polls: number;
  votes: number;
  /** Model folders published to the model store. */
  modelsPublished: number;
  /** Runs whose model folder was not found (their model_dir is copied as it was). */
  modelsMissing: string[];
}

/** `sqlite:/data` or `sqlite:/data/quijote.sqlite` → the file. */
export function sqliteFileOf(spec: string): string {
  if (!spec.startsWith('sqlite:')) throw new QuijoteError('BAD_ARGUMENT', `The source must be sqlite:<folder or file>; got ${spec}.`, { hint: 'For example: quijote store copy sqlite:./data postgres://user@host/quijote' });
  const p = spec.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
  const file = fs.existsSync(p) && fs.statSync(p).isDirectory() ? path.join(p, STORE_FILE) : p;
  if (!fs.existsSync(file)) throw new QuijoteError('NOT_FOUND', `No SQLite store at ${file}.`, { hint: 'Give the DATA_DIR folder of the bot you are moving.' });
  return file;
}

export async function copySqliteToPostgres(options: { from: string; to: string; clock: Clock; models?: ModelStore | null }): Promise<CopyReport> {
  if (!/^postgres(ql)?:\/\//.test(options.to)) throw new QuijoteError('BAD_ARGUMENT', `The target must be a postgres:// URL; got ${options.to}.`);
  const src = new Database(sqliteFileOf(options.from), { readonly: true, fileMustExist: true });
  try {
    const applied = (src.prepare('SELECT id FROM migrations').all() as Row[]).map((r) => Number(r.id));
    const unknown = applied.filter((id) => !migrations.some((m) => m.id === id));
    if (unknown.length) throw new QuijoteError('BAD_CONFIG', `The SQLite store has migrations this version does not know (${unknown.join(', ')}).`, { hint: 'Update quijote-bot first.' });
    const all = (t: string) => src.prepare(`SELECT * FROM ${t} ORDER BY rowid`).all() as Row[];
    const data = {
      classes: all('classes'), sweeps: applied.includes(4) ? all('sweeps') : [], runs: all('runs'), stories: all('stories'), polls: all('polls'), votes: all('votes'),
    };

    await (await PostgresStore.open({ url: options.to, clock: options.clock })).close(); // the target's schema is current
    const client = new pg.Client({ connectionString: options.to });
    await client.connect();
    try {
      await client.query('BEGIN');
      const report = await copyRows(client, data, options.models ?? null);
      await client.query('COMMIT');
      return report;
    } catch (e) {
      await client.query('ROLLBACK').catch(() => {});
      throw e;
    } finally {
      await client.end();
    }
  } finally {
    src.close();
  }
}

async function copyRows(c: pg.Client, d: Record<'classes' | 'sweeps' | 'runs' | 'stories' | 'polls' | 'votes', Row[]>, models: ModelStore | null): Promise<CopyReport> {
  const one = async (sql: string, p: unknown[]) => (await c.query(sql, p)).rows[0] as Row;
  const classIds = new Map<number, number>();
  const places = new Map<number, Place>();
  const busy: string[] = [];
  for (const k of d.classes) {
    await c.query('INSERT INTO classes (platform, team_id, channel_id, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (platform, team_id, channel_id) DO NOTHING',
      [k.platform, k.team_id, k.channel_id, k.created_at]);
    const t = await one('SELECT id FROM classes WHERE platform = $1 AND team_id = $2 AND channel_id = $3 FOR UPDATE', [k.platform, k.team_id, k.channel_id]);
    const used = await one('SELECT (SELECT COUNT(*) FROM runs WHERE class_id = $1) + (SELECT COUNT(*) FROM stories WHERE class_id = $1) AS n', [t.id]);
    if (Number(used.n) > 0) busy.push(`${k.platform}/${k.team_id}/${k.channel_id}`);
    classIds.set(Number(k.id), Number(t.id));
    places.set(Number(k.id), { platform: String(k.platform) as Place['platform'], teamId: String(k.team_id), channelId: String(k.channel_id) });
  }
  if (busy.length) {
    throw new QuijoteError('BUSY', `These classes already have data in the target database: ${busy.join(', ')}. Nothing was copied.`, {
      hint: 'Was this store copied before? Each class moves once.',
    });
  }
  const sweepIds = new Map<number, number>();
  for (const w of d.sweeps) {
    const active = w.status === 'running';
    const row = await one(`INSERT INTO sweeps (class_id, axis, sweep_values, params, prompt, status, teacher_id, error, created_at, finished_at)
      VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`, [
      classIds.get(Number(w.class_id)), w.axis, w.sweep_values, w.params, w.prompt, active ? 'interrupted' : w.status, w.teacher_id,
      active ? 'interrupted: moved to the district database while running' : w.error, w.created_at, active ? (w.finished_at ?? w.created_at) : w.finished_at,
    ]);
    sweepIds.set(Number(w.id), Number(row.id));
  }
  const runIds = new Map<number, number>();
  let modelsPublished = 0;
  const modelsMissing: string[] = [];
  for (const r of d.runs) {
    const active = r.status === 'queued' || r.status === 'running';
    const row = await one(`INSERT INTO runs (class_id, params, status, metrics, loss_curve, model_dir, teacher_id, error, created_at, started_at, finished_at, sweep_id)
      VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id`, [
      classIds.get(Number(r.class_id)), r.params, active ? 'interrupted' : r.status, r.metrics, r.loss_curve, r.model_dir, r.teacher_id,
      active ? `interrupted: moved to the district database while ${r.status}` : r.error, r.created_at, r.started_at, active ? (r.finished_at ?? r.created_at) : r.finished_at,
      r.sweep_id === null || r.sweep_id === undefined ? null : sweepIds.get(Number(r.sweep_id)),
    ]);
    const id = Number(row.id);
    runIds.set(Number(r.id), id);
    if (models && r.status === 'done' && typeof r.model_dir === 'string' && !r.model_dir.includes('://')) {
      if (fs.existsSync(r.model_dir)) {
        const uri = await models.publish(r.model_dir, runModelKey(places.get(Number(r.class_id))!, id));
        await c.query('UPDATE runs SET model_dir = $1 WHERE id = $2', [uri, id]);
        modelsPublished++;
      } else {
        modelsMissing.push(r.model_dir);
      }
    }
  }
  for (const k of d.classes) { // the run chosen with /usar
    if (k.model_run_id === null || k.model_run_id === undefined) continue;
    await c.query('UPDATE classes SET model_run_id = $1, model_chosen_at = $2 WHERE id = $3', [runIds.get(Number(k.model_run_id)), k.model_chosen_at, classIds.get(Number(k.id))]);
  }
  const storyIds = new Map<number, number>();
  for (const s of d.stories) {
    const row = await one('INSERT INTO stories (class_id, run_id, model, prompt, text, seed, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id', [
      classIds.get(Number(s.class_id)), s.run_id === null ? null : runIds.get(Number(s.run_id)), s.model, s.prompt, s.text, s.seed, s.created_at,
    ]);
    storyIds.set(Number(s.id), Number(row.id));
  }
  const pollIds = new Map<number, number>();
  for (const p of d.polls) {
    const row = await one(`INSERT INTO polls (class_id, run_id, prompt, story_a_id, story_b_id, finetuned_choice, channel_id, message_id, status, created_by, created_at, closed_at)
      VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id`, [
      classIds.get(Number(p.class_id)), runIds.get(Number(p.run_id)), p.prompt, storyIds.get(Number(p.story_a_id)), storyIds.get(Number(p.story_b_id)),
      p.finetuned_choice, p.channel_id, p.message_id, p.status, p.created_by, p.created_at, p.closed_at,
    ]);
    pollIds.set(Number(p.id), Number(row.id));
  }
  for (const v of d.votes) {
    await c.query('INSERT INTO votes (poll_id, user_id, choice, voted_at) VALUES ($1, $2, $3, $4)', [pollIds.get(Number(v.poll_id)), v.user_id, v.choice, v.voted_at]);
  }
  return { classes: d.classes.length, runs: d.runs.length, stories: d.stories.length, polls: d.polls.length, votes: d.votes.length, modelsPublished, modelsMissing };
}
