/**
 * Child process for test/faults.test.ts: the real bot with bot/process-guards.ts installed as bot/start.ts main()
 * does, on the fake Discord through discord.js. A /story's background work leaves a rejected promise nobody awaits
 * (an injected ENOSPC from a "clean-up"); the bot must log it and keep answering. Prints one JSON line and exits 0;
 * without the guards Node would exit with code 1 on the rejection.
 */
import { commands } from '../../commands/index.ts';
import { deployCommands } from '../../bot/discord/index.ts';
import { installProcessGuards } from '../../bot/process-guards.ts';
import { startBot } from '../../bot/start.ts';
import { buttonsOf, FakeDiscord } from './fake-discord.ts';
import { FakeEngine } from './fake-engine.ts';
import { tmpDataDir } from './e2e.ts';
import { createLocalCompute } from '../../core/jobs/local-transport.ts';

class LeakyEngine extends FakeEngine {
  override async story(...args: Parameters<FakeEngine['story']>) {
    const out = await super.story(...args);
    // background clean-up nobody awaits, failing like a full disk
    void (async () => {
      await new Promise((r) => setTimeout(r, 5));
      throw Object.assign(new Error('ENOSPC: no space left on device, unlink (injected)'), { code: 'ENOSPC' });
    })();
    return out;
  }
}

const guardLog: string[] = [];
const logs: string[] = [];
const fake = await FakeDiscord.start({ roles: [{ name: 'Profesor' }] });
const data = tmpDataDir();
await deployCommands({ token: fake.token, appId: fake.appId, guildId: fake.guildId, commands, rest: { api: fake.api } });
const res = await startBot({
  env: { DISCORD_API_URL: fake.api, DISCORD_TOKEN: fake.token, DISCORD_APP_ID: fake.appId, DISCORD_GUILD_ID: fake.guildId, DATA_DIR: data.dir, PROGRESS_INTERVAL_MS: '1000' },
  write: (l) => logs.push(l),
  createCompute: ({ clock }) => createLocalCompute(new LeakyEngine({ steps: 1 }), clock),
      text: new LeakyEngine(),
});
const bot = res.bot!;
installProcessGuards({ log: (l) => guardLog.push(l), stop: () => bot.stop() });
const teacher = { user: fake.user('profe'), roles: ['Profesor'] };
fake.slash('train', { lines: 5 }, teacher);
await fake.waitFor(() => fake.messages().find((m) => buttonsOf(m).some((b) => b.custom_id === 'vote:1:A')), { what: 'poll #1' });
await fake.waitFor(() => guardLog.length > 0, { what: 'the injected rejection' });
const st = fake.slash('story', { prompt: 'Érase una vez' }, { user: fake.user('luis') });
await fake.waitFor(() => st.original?.content === 'Votación #2 publicada. ¡A votar!', { what: '/story after the rejection' });
const status = fake.slash('status', {}, { user: fake.user('marta') });
const answer = await fake.waitFor(() => status.original?.content, { what: '/status' });
console.log(JSON.stringify({ guardLog, story: st.original!.content, status: answer.split('\n')[0] }));
await bot.stop();
await fake.close();
data.remove();
process.exit(0);
