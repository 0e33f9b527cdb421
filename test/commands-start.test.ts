import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import type { OutgoingMessage, Place } from '../commands/types.ts';
import { startBot, type PlatformStarter } from '../bot/start.ts';
import { openStore } from '../core/store/store.ts';
import { createLocalCompute } from '../core/jobs/local-transport.ts';
import { FakeEngine } from './helpers/fake-engine.ts';
import { ManualClock } from './helpers/fake-context.ts';

const dirs: string[] = [];
const tmp = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'quijote-start-'));
  dirs.push(dir);
  return dir;
};
after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

const DISCORD = { DISCORD_TOKEN: 'token-for-tests', DISCORD_APP_ID: '123456789012345678' };

test('no platform credentials: a Spanish explanation of what to set, and a non-zero exit code', async () => {
  const out: string[] = [];
  const res = await startBot({ env: {}, write: (l) => out.push(l), createCompute: () => assert.fail('compute must not start') });
  assert.equal(res.code, 1);
  const text = out.join('\n');
  for (const needle of ['No hay credenciales', 'DISCORD_TOKEN', 'DISCORD_APP_ID', 'SLACK_BOT_TOKEN', 'SLACK_APP_TOKEN', 'SLACK_SIGNING_SECRET', '.env.example', 'README']) {
    assert.ok(text.includes(needle), `mentions ${needle}`);
  }
});

test('an invalid configuration is reported and exits non-zero', async () => {
  const out: string[] = [];
  const res = await startBot({ env: { ...DISCORD, EPOCHS: 'many' }, write: (l) => out.push(l) });
  assert.equal(res.code, 1);
  assert.match(out.join('\n'), /La configuración no es válida: .*EPOCHS/s);
});

test('start: compute, store, platforms; runs interrupted by the last restart are reported in their channel', async () => {
  const dataDir = tmp();
  const clock = new ManualClock();
  // A previous process left one run running in a Discord class and one queued in a Slack class.
  const old = openStore({ dataDir, clock });
  const d = old.ensureClass({ platform: 'discord', teamId: 'G', channelId: 'C9' });
  const s = old.ensureClass({ platform: 'slack', teamId: 'T', channelId: 'S1' });
  old.markRunRunning(old.createRun({ classId: d.id, params: { lines: 300, epochs: 1, lr: 1e-4 }, teacherId: 'p' }).id);
  old.createRun({ classId: s.id, params: { lines: 20, epochs: 1, lr: 1e-4 }, teacherId: 'q' });
  old.close();

  const posted: Array<{ place: Place; message: OutgoingMessage }> = [];
  let stopped = 0;
  let startArgs: Parameters<PlatformStarter>[0] | undefined;
  const discord: PlatformStarter = async (args) => {
    startArgs = args;
    return {
      post: async (place, message) => (posted.push({ place, message }), { id: 'x', edit: async () => {} }),
      edit: async () => {},
      stop: async () => void stopped++,
    };
  };
  const out: string[] = [];
  const engine = new FakeEngine();
  const compute = createLocalCompute(engine, clock);
  const res = await startBot({
    env: { ...DISCORD, DATA_DIR: dataDir, LOCALE: 'es' },
    write: (l) => out.push(l),
    clock,
    createCompute: () => compute,
    text: engine,
    platforms: { discord, slack: async () => assert.fail('slack has no credentials') },
  });
  assert.equal(res.code, 0);
  const bot = res.bot!;
  assert.equal(startArgs?.services, bot.services);
  assert.equal(bot.services.compute, compute);
  assert.equal(bot.services.text, engine);
  assert.deepEqual(bot.interrupted.map((r) => [r.run.params.lines, r.previousStatus]), [[300, 'running'], [20, 'queued']]);
  // Only the Discord class can be told (Slack is not running); both are logged.
  assert.deepEqual(posted.map((p) => [p.place.channelId, p.message.text]), [
    ['C9', '⚠️ El entrenamiento #1 (300 líneas) se interrumpió al reiniciar el bot; vuelve a lanzar /train.'],
  ]);
  assert.equal(out.filter((l) => /se interrumpió al reiniciar/.test(l)).length, 2);
  assert.ok(out.some((l) => /quijote-bot en marcha en discord/.test(l)));
  await bot.stop();
  assert.equal(stopped, 1);

  // The next start finds nothing left to recover.
  const again = await startBot({ env: { ...DISCORD, DATA_DIR: dataDir }, write: () => {}, clock, createCompute: () => createLocalCompute(engine, clock), text: engine, platforms: { discord } });
  assert.equal(again.code, 0);
  assert.deepEqual(again.bot!.interrupted, []);
  await again.bot!.stop();
});

test('when every platform fails to start, the bot exits non-zero', async () => {
  const dataDir = tmp();
  const out: string[] = [];
  const res = await startBot({
    env: { ...DISCORD, DATA_DIR: dataDir },
    write: (l) => out.push(l),
    createCompute: ({ clock }) => createLocalCompute(new FakeEngine(), clock),
    platforms: { discord: async () => { throw new Error('401 Unauthorized'); } },
  });
  assert.equal(res.code, 1);
  assert.ok(out.some((l) => /No pude arrancar discord: 401 Unauthorized/.test(l)));
  assert.ok(out.some((l) => /Ninguna plataforma arrancó/.test(l)));
});
