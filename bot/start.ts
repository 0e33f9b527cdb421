/**
 * `npm start`: loads .env and the configuration, starts the compute process (which loads the model; the bot never
 * loads TensorFlow.js), opens the store, marks trainings cut short by the last restart as interrupted, and starts
 * every platform with credentials.
 */
import { randomInt } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { localizedCommands, buttons } from '../commands/index.ts';
import { t, type Locale } from '../commands/messages.ts';
import { placeLabel } from '../commands/respond.ts';
import type { Logger, Place, PlatformRuntime, Services } from '../commands/types.ts';
import { loadConfig, loadDotenv, type AppConfig } from '../config/index.ts';
import { isQuijoteError } from '../core/errors.ts';
import type { ComputeClient, TextService } from '../core/jobs/types.ts';
import type { Platform } from '../core/place.ts';
import { createTextService } from '../core/text/book.ts';
import { createProcessCompute } from './compute/process-transport.ts';
import { createRng } from '../core/sample/rng.ts';
import { openStore, type Store } from '../core/store/store.ts';
import type { Clock, InterruptedRun } from '../core/store/types.ts';
import { installProcessGuards } from './process-guards.ts';
import { consoleLogger, createServices } from './services.ts';

/** What bot/start needs from each adapter module; injectable for tests. */
export interface PlatformStarter {
  (args: { config: AppConfig; services: Services; log: (line: string) => void }): Promise<PlatformRuntime>;
}

export interface ComputeFactoryArgs {
  config: AppConfig;
  env: Readonly<Record<string, string | undefined>>;
  logger: Logger;
  clock: Clock;
}

export interface StartBotOptions {
  env: Readonly<Record<string, string | undefined>>;
  /** Console output (one line or paragraph per call). */
  write?: (line: string) => void;
  clock?: Clock;
  /** Where jobs run. Default: the supervised compute child process (bot/compute). Tests may run compute in-process. */
  createCompute?: (args: ComputeFactoryArgs) => ComputeClient;
  /** The book's lines for the commands. Default: read from QUIJOTE_TEXT / Gutenberg (core/text/book.ts). */
  text?: TextService;
  platforms?: Partial<Record<Platform, PlatformStarter>>;
}

export interface RunningBot {
  services: Services;
  runtimes: Partial<Record<Platform, PlatformRuntime>>;
  interrupted: InterruptedRun[];
  stop(): Promise<void>;
}

export type StartBotResult = { code: 0; bot: RunningBot } | { code: number; bot?: undefined };

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

function defaultCreateCompute({ config, env, logger, clock }: ComputeFactoryArgs): ComputeClient {
  return createProcessCompute({ env, logger, clock, describe: `(${t(config.locale, 'start.computeStarting')}) ${config.backend} · ${config.model}` });
}

/** The Discord starter (DISCORD_API_URL, when set, points discord.js at another REST API). */
export const discordPlatform: PlatformStarter = async ({ config, services, log }) => {
  const { startDiscord } = await import('./discord/index.ts');
  const d = config.discord;
  return startDiscord({
    config: { token: d.token ?? '', appId: d.appId ?? '', guildId: d.guildId ?? undefined, teacherRole: d.teacherRole, locale: config.locale },
    commands: localizedCommands(config.locale),
    buttons,
    services,
    log,
    ...(d.apiUrl ? { rest: { api: d.apiUrl } } : {}),
  });
};

/** The Slack starter (SLACK_API_URL, when set, is Bolt's slackApiUrl). */
export const slackPlatform: PlatformStarter = async ({ config, services, log }) => {
  const { startSlack } = await import('./slack/index.ts');
  const s = config.slack;
  return startSlack({
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
    ...(s.apiUrl ? { slackApiUrl: s.apiUrl } : {}),
  });
};

const defaultPlatforms: Record<Platform, PlatformStarter> = { discord: discordPlatform, slack: slackPlatform };

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

  const compute = (o.createCompute ?? defaultCreateCompute)({ config, env: o.env, logger, clock });
  const text = o.text ?? createTextService({ text: config.text, dataDir: config.dataDir, evalLines: config.ml.evalLines });
  const services = createServices({ config, compute, text, store, clock, random: createRng(randomInt(2 ** 31)), logger });
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
    await compute.close();
    store.close();
    return { code: 1 };
  }

  // Poll messages posted before this start stay editable (live count, closing on /reveal).
  services.pollMessages.setReattach((pollId) => {
    const poll = store.getPoll(pollId);
    const cls = poll ? store.getClass(poll.classId) : undefined;
    const runtime = cls ? runtimes[cls.platform] : undefined;
    if (!poll?.channelId || !poll.messageId || !runtime) return undefined;
    const { channelId, messageId } = poll;
    return { id: messageId, edit: (msg) => runtime.edit(channelId, messageId, msg) };
  });

  for (const { run, class: cls } of interrupted) {
    const runtime = runtimes[cls.platform];
    if (!runtime) continue;
    const place: Place = { platform: cls.platform, teamId: cls.teamId, channelId: cls.channelId };
    try {
      await runtime.post(place, { text: t(locale, 'train.interrupted', { run: run.id, lines: run.params.lines }) });
    } catch (e) {
      logger.warn(t(locale, 'start.noticeFailed', { place: placeLabel(place), run: run.id, detail: message(e) }));
    }
  }

  logger.info(t(locale, 'start.ready', { platforms: started.join(', '), dataDir: config.dataDir, engine: compute.describe() }));

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
        await compute.close().catch((e: unknown) => logger.warn(`stop: compute: ${message(e)}`));
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
