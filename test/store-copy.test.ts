/**
 * `quijote store copy sqlite:… postgres://… file:///…` as a teacher runs it (a child process): a classroom's SQLite
 * store moves into a district database that already holds another school's data, with its models published to
 * the shared model store.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, test } from 'node:test';
import { storeCommand } from '../bot/cli/store.ts';
import { loadConfig } from '../config/index.ts';
import { isQuijoteError } from '../core/errors.ts';
import { FileModelStore } from '../core/modelstore/file-store.ts';
import { PostgresStore } from '../core/store/postgres.ts';
import { openStore } from '../core/store/store.ts';
import { ManualClock } from './helpers/fake-context.ts';
import { serverTest, startPostgres, type PostgresServer } from './helpers/servers.ts';

const ROOT = new URL('..', import.meta.url).pathname;
const dirs: string[] = [];
const tmp = () => { const d = fs.mkdtempSync(path.join(os.tmpdir(), 'quijote-copy-')); dirs.push(d); return d; };
let server: PostgresServer | null = null;
after(async () => { await server?.stop(); for (const d of dirs) fs.rmSync(d, { recursive: true, force: true }); });

const metrics = { method: 'lora' as const, evalLossBefore: 4, evalLossAfter: 3, perplexityBefore: 54.6, perplexityAfter: 20.1, optimizerSteps: 8, seconds: 12 };

function quijote(args: string[], dataDir: string) {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/quijote.js'), ...args], {
    cwd: ROOT, encoding: 'utf8', env: { ...process.env, DATA_DIR: dataDir }, timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('store copy moves classes, runs, stories, polls and votes with new ids, publishes models, and refuses a second copy', serverTest('postgres'), async () => {
  server = await startPostgres();
  const url = await server.createDatabase();
  // The district already has another school's class and run, so copied ids cannot be kept.
  const district = await PostgresStore.open({ url, clock: new ManualClock(1) });
  const otherClass = await district.ensureClass({ platform: 'slack', teamId: 'T9', channelId: 'C9' });
  const otherRun = await district.createRun({ classId: otherClass.id, params: { lines: 1, epochs: 1, lr: 1 }, teacherId: 'x' });
  await district.close();

  const dataDir = tmp();
  const clock = new ManualClock(10_000);
  const s = openStore({ dataDir, clock });
  const place = { platform: 'discord' as const, teamId: 'G1', channelId: 'C1' };
  const cls = s.ensureClass(place);
  const modelDir = path.join(dataDir, 'classes', 'discord-G1-C1', 'run-1');
  fs.mkdirSync(modelDir, { recursive: true });
  fs.writeFileSync(path.join(modelDir, 'adapter_config.json'), '{"r":8}');
  fs.writeFileSync(path.join(modelDir, 'adapter_model.safetensors'), Buffer.alloc(4096, 7));
  const sweep = s.createSweep({ classId: cls.id, axis: 'lines', values: [300, 500], params: { lines: 300, epochs: 1, lr: 1e-4 }, prompt: 'P', teacherId: 'prof' });
  const r1 = s.createRun({ classId: cls.id, params: { lines: 300, epochs: 1, lr: 1e-4 }, teacherId: 'prof', sweepId: sweep.id });
  s.completeRun(r1.id, { metrics, lossCurve: [{ step: 1, loss: 4 }], modelDir });
  s.endSweep(sweep.id, 'cancelled');
  s.chooseClassModel(cls.id, r1.id); // /usar run:#1
  const r2 = s.createRun({ classId: cls.id, params: { lines: 300, epochs: 2, lr: 1e-4 }, teacherId: 'prof' });
  s.markRunRunning(r2.id); // left running: copied as interrupted
  const a = s.createStory({ classId: cls.id, runId: r1.id, model: 'finetuned', prompt: 'P', text: 'afinado', seed: 1 });
  const b = s.createStory({ classId: cls.id, runId: null, model: 'base', prompt: 'P', text: 'base', seed: 1 });
  const poll = s.createPoll({ classId: cls.id, runId: r1.id, prompt: 'P', storyAId: a.id, storyBId: b.id, finetunedChoice: 'A', createdBy: 'prof' });
  s.setPollMessage(poll.id, 'C1', 'M1');
  for (let i = 0; i < 5; i++) s.castVote(poll.id, `u${i}`, i < 3 ? 'A' : 'B');
  s.close();

  const shared = tmp();
  const t0 = Date.now();
  const r = quijote(['store', 'copy', `sqlite:${dataDir}`, url, pathToFileURL(shared).href, '--json'], dataDir);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.deepEqual(report, { classes: 1, runs: 2, stories: 2, polls: 1, votes: 5, modelsPublished: 1, modelsMissing: [] });
  const seconds = (Date.now() - t0) / 1000;

  const pgStore = await PostgresStore.open({ url, clock: new ManualClock(2) });
  try {
    const moved = await pgStore.findClass(place);
    assert.ok(moved);
    assert.notEqual(moved.id, otherClass.id);
    const runs = await pgStore.listRuns(moved!.id);
    assert.deepEqual(runs.map((x) => x.status), ['done', 'interrupted']);
    assert.ok(!runs.some((x) => x.id === otherRun.id), 'new ids, not the other school\'s');
    assert.deepEqual(runs[0].metrics, metrics);
    const sw = await pgStore.getSweep(runs[0].sweepId!);
    assert.deepEqual([sw?.classId, sw?.axis, sw?.values, sw?.status], [moved!.id, 'lines', [300, 500], 'cancelled'], 'the sweep moves with its run');
    assert.equal(runs[1].sweepId, null);
    assert.equal((await pgStore.classModelRun(moved!.id))?.id, runs[0].id, 'the run chosen with /usar is still the class model');
    assert.match(runs[1].error ?? '', /moved to the district database while running/);
    assert.equal(runs[0].modelDir, new FileModelStore(pathToFileURL(shared).href, tmp()).uriFor(`classes/discord-G1-C1/run-${runs[0].id}`));
    const local = await new FileModelStore(pathToFileURL(shared).href, tmp()).open(runs[0].modelDir!);
    assert.deepEqual(fs.readFileSync(path.join(local, 'adapter_model.safetensors')), Buffer.alloc(4096, 7));
    const p = await pgStore.latestOpenPoll(moved!.id);
    assert.ok(p);
    assert.equal(p.runId, runs[0].id);
    assert.equal((await pgStore.getStory(p.storyAId))?.text, 'afinado');
    assert.equal((await pgStore.getStory(p.storyBId))?.runId, null);
    assert.equal(p.messageId, 'M1');
    assert.deepEqual(await pgStore.tally(p.id), { A: 3, B: 2, total: 5 });
    assert.equal(await pgStore.getVote(p.id, 'u4'), 'B');
    assert.equal((await pgStore.createRun({ classId: moved!.id, params: { lines: 1, epochs: 1, lr: 1 }, teacherId: 'prof' })).status, 'queued', 'the class can train again there');

    const again = quijote(['store', 'copy', `sqlite:${dataDir}`, url], dataDir);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /discord\/G1\/C1/);
    assert.equal((await pgStore.listRuns(moved!.id)).length, 3, 'the refused copy wrote nothing');
  } finally {
    await pgStore.close();
  }
  assert.ok(seconds < 30, `copy took ${seconds} s`);
});

test('store copy: usage and source errors say what to do', async () => {
  const d = tmp();
  const config = loadConfig({ DATA_DIR: d });
  const run = (positionals: string[]) => storeCommand({ config, positionals, flags: {} });
  await assert.rejects(run(['copy', 'sqlite:' + d]), (e) => isQuijoteError(e, 'BAD_ARGUMENT') && /^Uso: quijote store copy/.test(e.message));
  await assert.rejects(run(['copy', 'sqlite:' + path.join(d, 'nope'), 'postgres://u@127.0.0.1:1/x']), (e) => isQuijoteError(e, 'NOT_FOUND') && /No SQLite store/.test(e.message));
  await assert.rejects(run(['copy', 'sqlite:' + d, 'mysql://x']), (e) => isQuijoteError(e, 'BAD_ARGUMENT') && /postgres:\/\//.test(e.message));
  await assert.rejects(run(['copy', d, 'postgres://u@127.0.0.1:1/x']), (e) => isQuijoteError(e, 'BAD_ARGUMENT') && /sqlite:/.test(e.message));
});
