/**
 * DATABASE_URL: the front-end's commands run on the PostgreSQL store (a real server on loopback), and an unreachable
 * one stops the start with a message that says what to check. Without DATABASE_URL the SQLite file stays (the other
 * command tests).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { startBot, type PlatformStarter } from '../bot/start.ts';
import { train } from '../commands/train.ts';
import { vote } from '../commands/vote.ts';
import { refreshPollMessage } from '../commands/poll.ts';
import { createServices } from '../bot/services.ts';
import { loadConfig } from '../config/index.ts';
import { createRng } from '../core/sample/rng.ts';
import type { Services } from '../commands/types.ts';
import { createLocalCompute } from '../core/jobs/local-transport.ts';
import { PostgresStore } from '../core/store/postgres.ts';
import { FakeEngine } from './helpers/fake-engine.ts';
import { buttonContext, commandContext, FakeChannel, ManualClock, PLACE, RecordingLogger, settle, STUDENT, until } from './helpers/fake-context.ts';
import { serverTest, startPostgres, type PostgresServer } from './helpers/servers.ts';

const DISCORD = { DISCORD_TOKEN: 'token-for-tests', DISCORD_APP_ID: '123456789012345678' };
let server: PostgresServer | undefined;
const dirs: string[] = [];
after(async () => {
  await server?.stop();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

test('DATABASE_URL: /train, its automatic poll and a vote land in PostgreSQL; SQLite is not created', serverTest('postgres'), async () => {
  server = await startPostgres();
  const url = await server.createDatabase();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'quijote-pgbot-'));
  dirs.push(dataDir);
  const clock = new ManualClock();
  const engine = new FakeEngine({ steps: 3 });
  let services: Services | undefined;
  const discord: PlatformStarter = async (args) => {
    services = args.services;
    return { post: async () => ({ id: 'x', edit: async () => {} }), edit: async () => {}, stop: async () => {} };
  };
  const out: string[] = [];
  const res = await startBot({
    env: { ...DISCORD, DATA_DIR: dataDir, DATABASE_URL: url }, write: (l) => out.push(l), clock,
    createCompute: () => createLocalCompute(engine, clock), text: engine, platforms: { discord },
  });
  assert.equal(res.code, 0, out.join('\n'));
  try {
    assert.equal(services!.store.kind, 'postgres');
    assert.ok(out.some((l) => /store: PostgreSQL at 127\.0\.0\.1:\d+\/t\d+_\d+, migrations 1, 2/.test(l)), out.join('\n'));
    const channel = new FakeChannel(clock);
    await train.run(commandContext(services!, channel, 'train', { lines: 5 }));
    await services!.compute.idle();
    await until(() => channel.posts.some((m) => m.first.buttons?.some((b) => b.id === 'vote:1:A')), 'the automatic poll');
    const poll = channel.posts.find((m) => m.first.buttons?.some((b) => b.id === 'vote:1:A'))!;
    await vote.run(buttonContext(services!, channel, 'vote:1:B', poll, STUDENT));
    await settle();

    // Another connection sees what the commands wrote.
    const reader = await PostgresStore.open({ url, clock });
    try {
      const cls = (await reader.findClass(PLACE))!;
      const run = (await reader.latestDoneRun(cls.id))!;
      assert.equal(run.status, 'done');
      assert.equal(run.metrics?.optimizerSteps, 3);
      assert.equal((await reader.latestOpenPoll(cls.id))?.messageId, poll.id);
      assert.equal(await reader.getVote(1, STUDENT.id), 'B');
    } finally {
      await reader.close();
    }
    assert.equal(fs.existsSync(path.join(dataDir, 'quijote.sqlite')), false, 'no SQLite file beside it');
  } finally {
    await res.bot!.stop();
  }
});

test('an unreachable DATABASE_URL stops the start with what to check, never the password', serverTest('postgres'), async () => {
  const out: string[] = [];
  const res = await startBot({
    env: { ...DISCORD, DATA_DIR: ':memory:', DATABASE_URL: 'postgres://quijote:secreto@127.0.0.1:1/quijote' },
    write: (l) => out.push(l), createCompute: () => assert.fail('compute must not start before the store'),
  });
  assert.equal(res.code, 1);
  const text = out.join('\n');
  assert.match(text, /127\.0\.0\.1:1\/quijote/);
  assert.match(text, /DATABASE_URL/);
  assert.doesNotMatch(text, /secreto/);
});

test('poll edits from two front-ends are serialized: a slow older edit never lands over a newer one', serverTest('postgres'), async () => {
  server ??= await startPostgres();
  const url = await server.createDatabase();
  const clock = { now: () => Date.now() };
  const config = loadConfig({ DATA_DIR: ':memory:', POLL_LIVE_SPLIT: '1' });
  const frontEnd = async (name: string) => {
    const store = await PostgresStore.open({ url, clock });
    const engine = new FakeEngine();
    return createServices({ config, compute: createLocalCompute(engine, clock), text: engine, store, clock, random: createRng(1), logger: new RecordingLogger(), frontEndId: name });
  };
  const [a, b] = [await frontEnd('fe1'), await frontEnd('fe2')];
  try {
    const cls = await a.store.ensureClass(PLACE);
    const run = await a.store.createRun({ classId: cls.id, params: { lines: 5, epochs: 1, lr: 1e-4 }, teacherId: 'p' });
    const sa = await a.store.createStory({ classId: cls.id, runId: run.id, model: 'base', prompt: 'P', text: 'uno.', seed: 1 });
    const sb = await a.store.createStory({ classId: cls.id, runId: run.id, model: 'finetuned', prompt: 'P', text: 'dos.', seed: 1 });
    const poll = await a.store.createPoll({ classId: cls.id, runId: run.id, prompt: 'P', storyAId: sa.id, storyBId: sb.id, finetunedChoice: 'B', createdBy: 'p' });
    await a.store.setPollMessage(poll.id, PLACE.channelId, 'M1');
    // One message, seen by both front-ends; front-end 1's first edit is slow to land (a congested link).
    const landed: string[] = [];
    let slow = true;
    const handle = (who: string) => ({
      id: 'M1',
      edit: async (m: { text: string }) => {
        const line = /Votos: Historia A \d+ · Historia B \d+/.exec(m.text)![0];
        if (who === 'fe1' && slow) { slow = false; await new Promise((r) => setTimeout(r, 300)); }
        landed.push(`${who} ${line}`);
      },
    });
    a.pollMessages.remember(poll.id, handle('fe1'));
    b.pollMessages.remember(poll.id, handle('fe2'));
    await a.store.castVote(poll.id, 'u1', 'A');
    const first = refreshPollMessage(a, poll.id); // reads A 1 · B 0, then takes 300 ms to land
    await new Promise((r) => setTimeout(r, 50));
    await b.store.castVote(poll.id, 'u2', 'B');
    await Promise.all([first, refreshPollMessage(b, poll.id)]);
    assert.deepEqual(landed, ['fe1 Votos: Historia A 1 · Historia B 0', 'fe2 Votos: Historia A 1 · Historia B 1'], 'the newer edit waited for the older one');
  } finally {
    await a.store.close();
    await b.store.close();
  }
});
