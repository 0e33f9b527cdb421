/**
 * Slack adapter: a Bolt app (Socket Mode by default, or HTTP with the signing secret) that routes every slash command
 * and button click to the platform-neutral commands. The adapter knows nothing about which commands exist.
 */
import type { Server } from 'node:http';
import { App, LogLevel, SocketModeReceiver, webApi, type Logger } from '@slack/bolt';
import { QuijoteError } from '../../core/errors.ts';
import type { ButtonHandler, Command, PlatformRuntime, Services } from '../../commands/types.ts';
import type { Deps } from './context.ts';
import { SlackFiles } from './files.ts';
import { SlackIO } from './io.ts';
import { route } from './router.ts';
import { TeacherCheck } from './teachers.ts';
import { texts, type Locale } from './texts.ts';

export interface SlackConfig {
  botToken: string; // xoxb-…
  appToken?: string; // xapp-… (Socket Mode)
  signingSecret?: string; // HTTP mode
  mode: 'socket' | 'http';
  port: number; // HTTP mode; 0 picks a free port
  teachers: string[]; // Slack user ids
  teacherGroup?: string; // user group id (S…) or handle
  locale?: Locale;
}

export interface StartSlackOptions {
  config: SlackConfig;
  commands: Command[];
  buttons: ButtonHandler[];
  services: Services;
  slackApiUrl?: string; // tests: the fake Web API
  log?: (line: string) => void;
}

export interface SlackBot extends PlatformRuntime {
  app: App;
  port?: number; // HTTP mode: the port actually bound
}

const STOP_WAIT_MS = 5000;

function boltLogger(log: (line: string) => void): Logger {
  let level = LogLevel.INFO;
  const line = (tag: string, msg: unknown[]) => log(`[slack:${tag}] ${msg.map(String).join(' ')}`);
  return {
    debug: () => {},
    info: (...m) => line('info', m),
    warn: (...m) => line('warn', m),
    error: (...m) => line('error', m),
    setLevel: (l) => void (level = l),
    getLevel: () => level,
    setName: () => {},
  };
}

function slackCode(e: unknown): string {
  const data = (e as { data?: { error?: string } })?.data;
  return data?.error ?? (e as Error)?.message ?? String(e);
}

function checkConfig(c: SlackConfig): void {
  const bad = (m: string) => new QuijoteError('BAD_CONFIG', m);
  if (!c.botToken?.startsWith('xox')) throw bad('Falta SLACK_BOT_TOKEN (xoxb-…): cópialo de api.slack.com/apps → OAuth & Permissions.');
  if (c.mode === 'socket' && !c.appToken?.startsWith('xapp-')) {
    throw bad('El modo socket necesita SLACK_APP_TOKEN (xapp-…): créalo en api.slack.com/apps → Basic Information → ' +
      'App-Level Tokens con el scope connections:write, o usa SLACK_MODE=http con SLACK_SIGNING_SECRET.');
  }
  if (c.mode === 'http' && !c.signingSecret) {
    throw bad('El modo http necesita SLACK_SIGNING_SECRET: cópialo de api.slack.com/apps → Basic Information → App Credentials.');
  }
}

/** Every Web API call: a few quick retries (about 4 s in all) instead of WebClient's ~30 minutes. */
export const CALL_RETRIES = { retries: 3, factor: 2, minTimeout: 500, maxTimeout: 2000 };
/**
 * Message edits (progress bars, poll counts): one quick retry, a 10 s timeout, and a rate-limited edit fails at
 * once instead of sleeping; the next edit carries the newer state anyway, so a failed edit never delays a job.
 */
export const EDIT_CLIENT = { retryConfig: { retries: 1, factor: 1, minTimeout: 300, maxTimeout: 300 }, rejectRateLimitedCalls: true, timeout: 10_000 };

export async function startSlack(opts: StartSlackOptions): Promise<SlackBot> {
  const { config } = opts;
  checkConfig(config);
  const log = opts.log ?? ((l: string) => console.log(l));
  const t = texts(config.locale);
  const socket = config.mode === 'socket';
  const logger = boltLogger(log);
  // WebClient retries for ~30 minutes by default, which would hold the training lane behind one failed edit.
  const clientOptions = { ...(opts.slackApiUrl ? { slackApiUrl: opts.slackApiUrl } : {}), retryConfig: CALL_RETRIES };
  // Our own SocketModeReceiver, so stop() can wait for the WebSocket to close (Bolt's stop() does not).
  const receiver = socket
    ? new SocketModeReceiver({ appToken: config.appToken!, logger, installerOptions: { clientOptions } })
    : undefined;
  const app = new App({
    token: config.botToken,
    logger,
    clientOptions,
    deferInitialization: true, // so a bad token becomes a clear error instead of an unhandled rejection
    ...(receiver ? { socketMode: true, receiver } : { signingSecret: config.signingSecret, port: config.port }),
  });
  try {
    await app.init();
  } catch (e) {
    throw new QuijoteError('BAD_CONFIG', `Slack rechazó SLACK_BOT_TOKEN (${slackCode(e)}). Revisa el token xoxb-… ` +
      'en api.slack.com/apps → OAuth & Permissions y que la app esté instalada en el espacio de trabajo.', { cause: e });
  }
  const deps: Deps = {
    io: new SlackIO(app.client, t, log, new webApi.WebClient(config.botToken, { ...clientOptions, ...EDIT_CLIENT, logger })),
    teachers: new TeacherCheck(app.client, config.teachers, config.teacherGroup, log),
    services: opts.services,
    texts: t,
    log,
    files: new SlackFiles(app.client, config.botToken!, t),
  };
  app.error(async (e) => log(`[slack] error de Bolt: ${e.message}`));
  route(app, deps, opts.commands, opts.buttons, config.locale);

  let server: Server | undefined;
  try {
    const started = socket ? await app.start() : await app.start(config.port);
    if (!socket) server = started as Server;
  } catch (e) {
    throw new QuijoteError('BAD_CONFIG', socket
      ? `No pude conectar con Slack en modo socket (${slackCode(e)}). Revisa SLACK_APP_TOKEN (xapp-… con connections:write).`
      : `No pude abrir el puerto ${config.port} para Slack (${slackCode(e)}). Elige otro con SLACK_PORT.`, { cause: e });
  }
  const address = server?.address();
  const port = address && typeof address === 'object' ? address.port : undefined;
  log(`[slack] conectado en modo ${socket ? 'socket' : `http (puerto ${port})`}; ${opts.commands.length} comandos`);
  return {
    app,
    port,
    post: (place, msg) => deps.io.post(place.channelId, msg),
    edit: (channelId, ts, msg) => deps.io.update(channelId, ts, msg),
    stop: async () => {
      server?.closeIdleConnections();
      const closed = receiver && new Promise((resolve) => receiver.client.once('disconnected', resolve));
      await app.stop();
      if (closed) await Promise.race([closed, new Promise((r) => setTimeout(r, STOP_WAIT_MS).unref())]);
    },
  };
}
