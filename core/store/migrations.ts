/**
 * Numbered schema migrations. Each one runs once, inside a transaction, and is recorded in `migrations`.
 * Append new migrations at the end with the next number; never edit one that has shipped.
 */
import type Database from 'better-sqlite3';
import { QuijoteError } from '../errors.ts';

export interface Migration {
  id: number;
  name: string;
  sql: string;
}

export const migrations: Migration[] = [
  {
    id: 1,
    name: 'initial schema',
    sql: `
      CREATE TABLE classes (
        id INTEGER PRIMARY KEY,
        platform TEXT NOT NULL,
        team_id TEXT NOT NULL,
        channel_id TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        UNIQUE (platform, team_id, channel_id)
      );
      CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        class_id INTEGER NOT NULL REFERENCES classes(id),
        params TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('queued','running','done','failed','cancelled','interrupted')),
        metrics TEXT,
        loss_curve TEXT,
        model_dir TEXT,
        teacher_id TEXT NOT NULL,
        error TEXT,
        created_at INTEGER NOT NULL,
        started_at INTEGER,
        finished_at INTEGER
      );
      CREATE INDEX runs_class ON runs (class_id, status);
      CREATE TABLE stories (
        id INTEGER PRIMARY KEY,
        class_id INTEGER NOT NULL REFERENCES classes(id),
        run_id INTEGER REFERENCES runs(id),
        model TEXT NOT NULL CHECK (model IN ('base','finetuned')),
        prompt TEXT NOT NULL,
        text TEXT NOT NULL,
        seed INTEGER,
        created_at INTEGER NOT NULL
      );
      CREATE TABLE polls (
        id INTEGER PRIMARY KEY,
        class_id INTEGER NOT NULL REFERENCES classes(id),
        run_id INTEGER NOT NULL REFERENCES runs(id),
        prompt TEXT NOT NULL,
        story_a_id INTEGER NOT NULL REFERENCES stories(id),
        story_b_id INTEGER NOT NULL REFERENCES stories(id),
        finetuned_choice TEXT NOT NULL CHECK (finetuned_choice IN ('A','B')),
        channel_id TEXT,
        message_id TEXT,
        status TEXT NOT NULL CHECK (status IN ('open','closed')),
        created_by TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        closed_at INTEGER
      );
      CREATE INDEX polls_class ON polls (class_id, status);
      CREATE TABLE votes (
        poll_id INTEGER NOT NULL REFERENCES polls(id),
        user_id TEXT NOT NULL,
        choice TEXT NOT NULL CHECK (choice IN ('A','B')),
        voted_at INTEGER NOT NULL,
        PRIMARY KEY (poll_id, user_id)
      );
    `,
  },
];

/** Applies every migration not yet recorded. Returns the ids it applied (empty when up to date). */
export function migrate(db: Database.Database, now: number, list: Migration[] = migrations): number[] {
  db.exec(`CREATE TABLE IF NOT EXISTS migrations (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at INTEGER NOT NULL
  )`);
  const applied = new Set((db.prepare('SELECT id FROM migrations').all() as Array<{ id: number }>).map((r) => r.id));
  const known = new Set(list.map((m) => m.id));
  const unknown = [...applied].filter((id) => !known.has(id));
  if (unknown.length > 0) {
    throw new QuijoteError(
      'BAD_CONFIG',
      `The database has migrations this version does not know (${unknown.join(', ')}).`,
      { hint: 'It was written by a newer quijote-bot: update the bot or point DATA_DIR to another folder.' },
    );
  }
  const done: number[] = [];
  const record = db.prepare('INSERT INTO migrations (id, name, applied_at) VALUES (?, ?, ?)');
  for (const m of [...list].sort((a, b) => a.id - b.id)) {
    if (applied.has(m.id)) continue;
    db.transaction(() => {
      db.exec(m.sql);
      record.run(m.id, m.name, now);
    })();
    done.push(m.id);
  }
  return done;
}
