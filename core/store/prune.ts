/**
 * KEEP_RUNS: every /train keeps a full copy of the model (~500 MB for the 124M), so each class keeps only the
 * folders of its newest `keep` finished runs plus its active model (store.classModelRun, which /story and
 * /score use) and the runs of its newest /sweep, and the folders of failed, cancelled or interrupted runs go. Safely: only `run-<id>` folders inside
 * the class's own folder, of runs the store knows for that class, never a queued or running one.
 */
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { classDir, runModelDir } from './paths.ts';
import type { AsyncStore } from './async-store.ts';
import type { ClassRow } from './types.ts';

export interface PruneResult {
  removed: string[];
  kept: string[];
}

export async function pruneRunFolders(store: Pick<AsyncStore, 'listRuns' | 'classModelRun'>, dataDir: string, cls: ClassRow, keep: number): Promise<PruneResult> {
  const runs = await store.listRuns(cls.id);
  const active = await store.classModelRun(cls.id);
  const done = runs.filter((r) => r.status === 'done').sort((a, b) => (b.finishedAt ?? 0) - (a.finishedAt ?? 0) || b.id - a.id);
  const keepIds = new Set(done.slice(0, Math.max(0, keep)).map((r) => r.id));
  if (active) keepIds.add(active.id);
  // the newest sweep's runs stay whole (up to 4), so that `/usar run:#id` can pick any of them
  const newestSweep = Math.max(0, ...runs.map((r) => r.sweepId ?? 0));
  for (const r of done) if (newestSweep > 0 && r.sweepId === newestSweep) keepIds.add(r.id);
  const root = path.resolve(classDir(dataDir, cls));
  const result: PruneResult = { removed: [], kept: [] };
  for (const run of runs) {
    if (run.status === 'queued' || run.status === 'running') continue;
    const dir = path.resolve(runModelDir(dataDir, cls, run.id));
    if (path.dirname(dir) !== root || !existsSync(dir)) continue;
    if (keepIds.has(run.id)) {
      result.kept.push(dir);
      continue;
    }
    await rm(dir, { recursive: true, force: true });
    result.removed.push(dir);
  }
  return result;
}
