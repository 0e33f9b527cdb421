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
import type { Services } from '../commands/types.ts';
import { createLocalCompute } from '../core/jobs/local-transport.ts';
import { PostgresStore } from '../core/store/postgres.ts';
import { FakeEngine } from './helpers/fake-engine.ts';
import { buttonContext, commandContext, FakeChannel, ManualClock, PLACE, settle, STUDENT, until } from './helpers/fake-context.ts';
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
