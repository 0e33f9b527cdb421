/**
 * `npm start`: loads .env and the configuration, creates the ML engine (base model loaded once), opens the store,
 * marks trainings cut short by the last restart as interrupted, and starts every platform with credentials.
 */
import { randomInt } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { localizedCommands, buttons } from '../commands/index.ts';
import { t, type Locale } from '../commands/messages.ts';
import { placeLabel } from '../commands/respond.ts';
import type { Logger, OutgoingMessage, Place, PlatformRuntime, Services } from '../commands/types.ts';
import { loadConfig, loadDotenv, type AppConfig } from '../config/index.ts';
import type { Engine } from '../core/engine.ts';
import { isQuijoteError } from '../core/errors.ts';
import { createRng } from '../core/sample/rng.ts';
import { openStore, type Store } from '../core/store/store.ts';
import type { Clock, InterruptedRun } from '../core/store/types.ts';
import { installProcessGuards } from './process-guards.ts';
import { consoleLogger, createServices } from './services.ts';

type Platform = Place['platform'];

/** What bot/start needs from each adapter module; injectable for tests. */
export interface PlatformStarter {
  (args: { config: AppConfig; services: Services; log: (line: string) => void }): Promise<PlatformRuntime & Record<string, unknown>>;
}

export interface StartBotOptions {
  env: Readonly<Record<string, string | undefined>>;
  /** Console output (one line or paragraph per call). */
  write?: (line: string) => void;
  clock?: Clock;
  createEngine?: (config: AppConfig, deps: { now: () => number; log: (line: string) => void }) => Promise<Engine>;
  platforms?: Partial<Record<Platform, PlatformStarter>>;
}

export interface RunningBot {
  services: Services;
  runtimes: Partial<Record<Platform, PlatformRuntime & Record<string, unknown>>>;
  interrupted: InterruptedRun[];
  stop(): Promise<void>;
}

export type StartBotResult = { code: 0; bot: RunningBot } | { code: number; bot?: undefined };

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

async function defaultCreateEngine(config: AppConfig, deps: { now: () => number; log: (line: string) => void }): Promise<Engine> {
  let mod: typeof import('../core/pipeline/tfjs-engine.ts');
  try {
    mod = await import('../core/pipeline/tfjs-engine.ts');
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' && /pipeline[\\/]tfjs-engine/.test(message(e))) throw new EngineMissing();
    throw e;
  }
  if (typeof mod.createEngine !== 'function') throw new EngineMissing();
  return mod.createEngine(config, { ...deps, libraryPath: config.libraryPath ?? undefined });
}

class EngineMissing extends Error {}

/** The Discord starter; `rest` points discord.js at another API (the tests' fake Discord). */
export function discordPlatform(extra: { rest?: { api: string } } = {}): PlatformStarter {
  return async ({ config, services, log }) => {
    const { startDiscord } = await import('./discord/index.ts');
    const d = config.discord;
    return (await startDiscord({
      config: { token: d.token ?? '', appId: d.appId ?? '', guildId: d.guildId ?? undefined, teacherRole: d.teacherRole, locale: config.locale },
      commands: localizedCommands(config.locale),
      buttons,
      services,
      log,
      ...extra,
    })) as unknown as PlatformRuntime & Record<string, unknown>;
  };
}

/** The Slack starter; `slackApiUrl` points Bolt at another Web API (the tests' fake Slack). */
export function slackPlatform(extra: { slackApiUrl?: string } = {}): PlatformStarter {
  return async ({ config, services, log }) => {
    const { startSlack } = await import('./slack/index.ts');
    const s = config.slack;
    return (await startSlack({
      config: {
        botToken: s.botToken ?? '',
        appToken: s.appToken ?? undefined,
        signingSecret: s.signingSecret ?? undefined,
        mode: s.mode,
        port: s.port,
        teachers: [...s.teachers],
        teacherGroup: s.teacherGroup ?? undefined,
        locale: config.locale,
      },
      commands: localizedCommands(config.locale),
      buttons,
      services,
      log,
      ...extra,
    })) as unknown as PlatformRuntime & Record<string, unknown>;
  };
}

const defaultPlatforms: Record<Platform, PlatformStarter> = { discord: discordPlatform(), slack: slackPlatform() };

/**
 * Posts into a class channel without an interaction: the adapter's own `post` when it has one, otherwise the
 * platform client it returned (discord.js `client`, Bolt `app`).
 */
export async function postToPlace(runtime: PlatformRuntime & Record<string, unknown>, place: Place, msg: OutgoingMessage): Promise<void> {
  if (typeof runtime.post === 'function') {
    await runtime.post(place, msg);
    return;
  }
  type DiscordLike = { channels?: { fetch?(id: string): Promise<{ send?(m: { content: string }): Promise<unknown> } | null> } };
  type SlackLike = { client?: { chat?: { postMessage?(m: { channel: string; text: string }): Promise<unknown> } } };
  const client = runtime.client as DiscordLike | undefined;
  if (place.platform === 'discord' && client?.channels?.fetch) {
    const channel = await client.channels.fetch(place.channelId);
    if (!channel?.send) throw new Error(`channel ${place.channelId} cannot receive messages`);
    await channel.send({ content: msg.text });
    return;
  }
  const app = runtime.app as SlackLike | undefined;
  if (place.platform === 'slack' && app?.client?.chat?.postMessage) {
    await app.client.chat.postMessage({ channel: place.channelId, text: msg.text });
    return;
  }
  throw new Error('the adapter offers no way to post outside an interaction');
}

/** Edits a message posted by an earlier process, through the platform client (poll messages after a restart). */
export async function editInPlace(runtime: PlatformRuntime & Record<string, unknown>, platform: string, channelId: string, messageId: string, msg: OutgoingMessage): Promise<void> {
  type DiscordLike = { channels?: { fetch?(id: string): Promise<{ messages?: { edit(id: string, m: unknown): Promise<unknown> } } | null> } };
  type SlackLike = { client?: { chat?: { update?(m: Record<string, unknown>): Promise<unknown> } } };
  const client = runtime.client as DiscordLike | undefined;
  if (platform === 'discord' && client?.channels?.fetch) {
    const { toEditPayload } = await import('./discord/payload.ts');
    const channel = await client.channels.fetch(channelId);
    if (!channel?.messages) throw new Error(`channel ${channelId} has no messages to edit`);
    await channel.messages.edit(messageId, toEditPayload(msg));
    return;
  }
  const app = runtime.app as SlackLike | undefined;
  if (platform === 'slack' && app?.client?.chat?.update) {
    const { toSlackMessage } = await import('./slack/blocks.ts');
    await app.client.chat.update({ channel: channelId, ts: messageId, ...toSlackMessage(msg) });
    return;
  }
  throw new Error('the adapter offers no way to edit a message outside an interaction');
}

export async function startBot(o: StartBotOptions): Promise<StartBotResult> {
  const write = o.write ?? ((l: string) => console.error(l));
  let config: AppConfig;
  try {
    config = loadConfig(o.env);
  } catch (e) {
    write(t('es', 'start.badConfig', { detail: message(e) }));
    return { code: 1 };
  }
  const locale: Locale = config.locale;
  const enabled = (['discord', 'slack'] as const).filter((p) => config[p].enabled);
  if (enabled.length === 0) {
    write(t(locale, 'start.noPlatforms'));
    return { code: 1 };
  }

  const clock: Clock = o.clock ?? { now: () => Date.now() };
  const logger: Logger = consoleLogger(clock, write);
  let engine: Engine;
  try {
    engine = await (o.createEngine ?? defaultCreateEngine)(config, { now: () => clock.now(), log: (l) => logger.info(l) });
  } catch (e) {
    write(e instanceof EngineMissing ? t(locale, 'start.engineMissing') : t(locale, 'start.badConfig', { detail: message(e) }));
    return { code: 1 };
  }

  let store: Store;
  try {
    store = openStore({ dataDir: config.dataDir, clock });
  } catch (e) {
    write(t(locale, 'start.badConfig', { detail: message(e) }));
    return { code: 1 };
  }
  const interrupted = store.recoverInterruptedRuns();
  for (const { run, class: cls, previousStatus } of interrupted) {
    logger.warn(t(locale, 'start.interrupted', { run: run.id, place: placeLabel(cls as Place), status: t(locale, `run.status.${previousStatus}`) }));
  }

  const services = createServices({ config, engine, store, clock, random: createRng(randomInt(2 ** 31)), logger });
  const runtimes: RunningBot['runtimes'] = {};
  for (const platform of enabled) {
    try {
      const starter = o.platforms?.[platform] ?? defaultPlatforms[platform];
      runtimes[platform] = await starter({ config, services, log: (l) => logger.info(l) });
    } catch (e) {
      logger.error(t(locale, 'start.platformFailed', { platform, detail: isQuijoteError(e) ? e.message : message(e) }));
    }
  }
  const started = Object.keys(runtimes);
  if (started.length === 0) {
    write(t(locale, 'start.allFailed'));
    store.close();
    return { code: 1 };
  }

  // Poll messages posted before this start stay editable (live count, closing on /reveal).
  services.pollMessages.setReattach((pollId) => {
    const poll = store.getPoll(pollId);
    const cls = poll ? store.getClass(poll.classId) : undefined;
    const runtime = cls ? runtimes[cls.platform as Platform] : undefined;
    if (!poll?.channelId || !poll.messageId || !cls || !runtime) return undefined;
    const { channelId, messageId } = poll;
    return { id: messageId, edit: (msg) => editInPlace(runtime, cls.platform, channelId, messageId, msg) };
  });

  for (const { run, class: cls } of interrupted) {
    const runtime = runtimes[cls.platform as Platform];
    if (!runtime) continue;
    const place: Place = { platform: cls.platform as Platform, teamId: cls.teamId, channelId: cls.channelId };
    try {
      await postToPlace(runtime, place, { text: t(locale, 'train.interrupted', { run: run.id, lines: run.params.lines }) });
    } catch (e) {
      logger.warn(t(locale, 'start.noticeFailed', { place: placeLabel(place), run: run.id, detail: message(e) }));
    }
  }

  const warm = (engine as Engine & { ready?: () => Promise<unknown> }).ready;
  if (typeof warm === 'function') {
    warm.call(engine).catch((e: unknown) => logger.error('engine warm-up failed (commands will retry and report it)', e));
  }
  logger.info(t(locale, 'start.ready', { platforms: started.join(', '), dataDir: config.dataDir, engine: engine.describe() }));

  let stopped = false;
  return {
    code: 0,
    bot: {
      services,
      runtimes,
      interrupted,
      async stop() {
        if (stopped) return;
        stopped = true;
        logger.info(t(locale, 'start.stopping'));
        for (const runtime of Object.values(runtimes)) {
          await runtime?.stop?.().catch((e: unknown) => logger.warn(`stop: ${message(e)}`));
        }
        // Jobs are not cancelled: whatever was running is marked 'interrupted' at the next start.
        store.close();
      },
    },
  };
}

async function main(): Promise<void> {
  try {
    loadDotenv();
  } catch (e) {
    console.error(message(e));
    process.exit(1);
  }
  const result = await startBot({ env: process.env });
  if (result.code !== 0 || !result.bot) process.exit(result.code);
  const bot = result.bot;
  installProcessGuards({ log: (line) => console.error(`${new Date().toISOString()} error ${line}`), stop: () => bot.stop() });
  const shutdown = () => {
    bot.stop().finally(() => process.exit(0));
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: unknown) => {
    console.error(isQuijoteError(e) ? e.message : e);
    process.exit(1);
  });
}
