/**
 * `npm start`: loads .env and the configuration, starts the compute process (which loads the model; the bot never
 * loads TensorFlow.js), opens the store, marks trainings cut short by the last restart as interrupted, and starts
 * every platform with credentials.
 */
import { randomInt } from 'node:crypto';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { localizedCommands, buttons } from '../commands/index.ts';
import { t, type Locale } from '../commands/messages.ts';
import { placeLabel } from '../commands/respond.ts';
import type { Logger, Place, PlatformRuntime, Services } from '../commands/types.ts';
import { loadConfig, loadDotenv, localeOf, type AppConfig } from '../config/index.ts';
import { isQuijoteError } from '../core/errors.ts';
import type { ComputeClient, TextService } from '../core/jobs/types.ts';
import type { Platform } from '../core/place.ts';
import { createTextService } from '../core/text/book.ts';
import { createProcessCompute } from './compute/process-transport.ts';
import type { BullTransport } from './compute/bullmq/transport.ts';
import type { DistrictLoop } from './district-loop.ts';
import { createRng } from '../core/sample/rng.ts';
import type { AsyncStore } from '../core/store/async-store.ts';
import { openSqliteAsyncStore } from '../core/store/sqlite-async.ts';
import type { Clock, InterruptedRun } from '../core/store/types.ts';
import { downloadReporting } from './download-status.ts';
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
  return createProcessCompute({
    env, logger, clock, describe: `(${t(config.locale, 'start.computeStarting')}) ${config.backend} · ${config.model}`,
    ...downloadReporting(config.locale, logger, clock), // first start: the model's download in the log and in /status
  });
}

/**
 * The front-end's store: PostgreSQL when DATABASE_URL is set (loaded only then: the embedded default never imports
 * pg), else the SQLite file in DATA_DIR through the async wrapper.
 */
export async function openBotStore(config: AppConfig, clock: Clock, logger: Logger): Promise<AsyncStore> {
  const url = config.distributed.databaseUrl;
  if (!url) return openSqliteAsyncStore({ dataDir: config.dataDir, clock });
  const { PostgresStore, describePostgresUrl } = await import('../core/store/postgres.ts');
  const store = await PostgresStore.open({ url, clock, onIdleError: (e) => logger.warn(`store: PostgreSQL connection lost: ${e.message}`) });
  logger.info(`store: PostgreSQL at ${describePostgresUrl(url)}${store.appliedMigrations.length ? `, migrations ${store.appliedMigrations.join(', ')} applied` : ''}`);
  return store;
}

/** The Discord starter (DISCORD_API_URL, when set, points discord.js at another REST API). */
export const discordPlatform: PlatformStarter = async ({ config, services, log }) => {
  const d = config.discord;
  if (d.publicKey) {
    // HTTP interactions: several front-ends behind a load balancer (bot/discord/http.ts)
    const { startDiscordHttp } = await import('./discord/http.ts');
    return startDiscordHttp({
      config: { token: d.token, publicKey: d.publicKey, teacherRole: d.teacherRole, locale: config.locale },
      commands: localizedCommands(config.locale), buttons, services, log, port: d.httpPort, host: d.httpHost,
      ...(d.apiUrl ? { rest: { api: d.apiUrl } } : {}),
    });
  }
  const { startDiscord } = await import('./discord/index.ts');
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
    // loadConfig's BAD_CONFIG is complete and already in the user's language (LOCALE)
    write(isQuijoteError(e, 'BAD_CONFIG') ? e.message : t(localeOf(o.env), 'start.badConfig', { detail: message(e) }));
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
  // ROLE=bot: compute runs on the district's workers, through BullMQ (loaded only then: the embedded default never
  // imports it). Redis must be safe for the queue before anything starts.
  let districtCompute: ((args: ComputeFactoryArgs) => ComputeClient) | undefined;
  if (config.distributed.redisUrl && !o.createCompute) {
    const url = config.distributed.redisUrl;
    try {
      await (await import('./compute/bullmq/redis.ts')).checkRedisForQueues(url);
    } catch (e) {
      write(t(locale, 'start.badConfig', { detail: message(e) }));
      return { code: 1 };
    }
    const { createBullCompute } = await import('./compute/bullmq/transport.ts');
    districtCompute = (a) => createBullCompute({ url, clock: a.clock, logger: a.logger });
  }
  let store: AsyncStore;
  try {
    store = await openBotStore(config, clock, logger);
  } catch (e) {
    write(t(locale, 'start.badConfig', { detail: message(e) }));
    return { code: 1 };
  }
  // Embedded: nothing survives this process, so what it left running is interrupted. District (ROLE=bot): runs may
  // be alive on workers; the periodic reconciler below compares the store with the queue instead.
  const district = config.distributed.role === 'bot';
  const interrupted = district ? [] : await store.recoverInterruptedRuns();
  for (const { run, class: cls, previousStatus } of interrupted) {
    logger.warn(t(locale, 'start.interrupted', { run: run.id, place: placeLabel(cls as Place), status: t(locale, `run.status.${previousStatus}`) }));
  }

  const compute = (o.createCompute ?? districtCompute ?? defaultCreateCompute)({ config, env: o.env, logger, clock });
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
    await store.close();
    return { code: 1 };
  }

  // Poll messages posted before this start stay editable (live count, closing on /reveal).
  services.pollMessages.setReattach(async (pollId) => {
    const poll = await store.getPoll(pollId);
    const cls = poll ? await store.getClass(poll.classId) : undefined;
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

  // District (ROLE=bot): take over result deliveries other front-ends could not finish, and reconcile the store
  // with the queue (bot/district-loop.ts).
  let loop: DistrictLoop | undefined;
  const bull = (compute as { transport?: Partial<BullTransport> }).transport;
  if (district && bull?.liveRunKeys && bull.jobOutcome && bull.followProgress) {
    const queue = { liveRunKeys: bull.liveRunKeys.bind(bull), jobOutcome: bull.jobOutcome.bind(bull), followProgress: bull.followProgress.bind(bull) };
    loop = (await import('./district-loop.ts')).startDistrictLoop({ services, runtimes, queue, clock, logger, locale });
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
        await loop?.stop();
        logger.info(t(locale, 'start.stopping'));
        for (const runtime of Object.values(runtimes)) {
          await runtime?.stop?.().catch((e: unknown) => logger.warn(`stop: ${message(e)}`));
        }
        // Jobs are not cancelled: whatever was running is marked 'interrupted' at the next start.
        await compute.close().catch((e: unknown) => logger.warn(`stop: compute: ${message(e)}`));
        await store.close();
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
  let role = 'all';
  try {
    role = loadConfig(process.env).distributed.role;
  } catch {
    // startBot reports the configuration's problems
  }
  if (role === 'worker') {
    // The worker is its own process (it loads TensorFlow.js; the bot process never does): forked by path.
    const { fork } = await import('node:child_process');
    const child = fork(fileURLToPath(new URL('./worker.ts', import.meta.url)), [], { execArgv: ['--import', import.meta.resolve('tsx')], stdio: 'inherit' });
    for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => child.kill(sig));
    child.once('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
    return;
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
