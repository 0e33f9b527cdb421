/**
 * A front-end process for the district tests: the real `npm start` code (bot/start.ts startBot, from this
 * process's environment: ROLE=bot, REDIS_URL, DATABASE_URL, Discord HTTP interactions against the fake Discord)
 * with the fake engine's lines as the book. Prints one JSON line per event on stdout: ready (with its front-end
 * id), log, failed.
 */
import { startBot } from '../../bot/start.ts';
import { FakeEngine } from './fake-engine.ts';

const say = (o: Record<string, unknown>) => process.stdout.write(JSON.stringify({ pid: process.pid, ...o }) + '\n');
const res = await startBot({ env: process.env, text: new FakeEngine(), write: (m) => say({ event: 'log', m }) });
if (res.code !== 0 || !res.bot) {
  say({ event: 'failed', code: res.code });
  process.exit(1);
}
const bot = res.bot;
say({ event: 'ready', frontEndId: bot.services.frontEndId });
process.once('SIGTERM', () => void bot.stop().finally(() => process.exit(0)));
