/** Discord adapter: a discord.js client that turns interactions into platform-neutral command calls. */
import { Client, Events, GatewayIntentBits } from 'discord.js';
import type { ButtonHandler, Command, PlatformRuntime, Services } from '../../commands/types.ts';
import { QuijoteError } from '../../core/errors.ts';
import { toEditPayload, toPayload } from './payload.ts';
import { createRouter } from './router.ts';
import { adapterTexts, type Locale } from './texts.ts';

export { deployCommands } from './deploy.ts';
export { toApplicationCommand, toApplicationCommands, TEACHER_PERMISSIONS } from './spec.ts';

/** The Discord part of the app config (`{ ...config.discord, locale: config.locale }` fits). */
export interface DiscordConfig {
  token: string | null;
  appId?: string | null;
  /** Only used to warn when the bot is not in that server. */
  guildId?: string | null;
  teacherRole: string;
  locale?: Locale;
}

export interface StartDiscordOptions {
  config: DiscordConfig;
  commands: Command[];
  buttons: ButtonHandler[];
  services: Services;
  /** REST base URL, e.g. a fake Discord's `http://127.0.0.1:PORT/api` (the gateway URL comes from GET /gateway/bot). */
  rest?: { api: string };
  /** Safety-net defer delay in ms (default 2000; Discord's limit is 3 s). */
  autoDeferMs?: number;
  /** Give up logging in after this many ms (default 30000). */
  readyTimeoutMs?: number;
  log?: (line: string) => void;
}

export interface DiscordBot extends PlatformRuntime {
  client: Client<true>;
}

/** Posting and editing outside an interaction (restart notices, polls posted before a restart), with the bot token. */
export function channelIO(client: Client<true>): Pick<PlatformRuntime, 'post' | 'edit'> {
  const textChannel = async (id: string) => {
    // allowUnknownGuild: an HTTP-interactions front-end has no Gateway, so it caches no guild
    const channel = await client.channels.fetch(id, { allowUnknownGuild: true });
    if (!channel || !channel.isTextBased() || !('send' in channel)) throw new Error(`channel ${id} cannot receive messages`);
    return channel;
  };
  return {
    async post(place, msg) {
      const channel = await textChannel(place.channelId);
      const sent = await channel.send(toPayload(msg));
      return { id: sent.id, edit: async (next) => void (await channel.messages.edit(sent.id, toEditPayload(next))) };
    },
    async edit(channelId, messageId, msg) {
      await (await textChannel(channelId)).messages.edit(messageId, toEditPayload(msg));
    },
  };
}

export async function startDiscord(opts: StartDiscordOptions): Promise<DiscordBot> {
  const { config } = opts;
  const log = opts.log ?? ((line: string) => console.error(line));
  if (!config.token) {
    throw new QuijoteError('BAD_CONFIG', 'Falta el token del bot de Discord.', { hint: 'Define DISCORD_TOKEN en .env.' });
  }
  const client = new Client({
    intents: [GatewayIntentBits.Guilds],
    ...(opts.rest ? { rest: { api: opts.rest.api } } : {}),
  });
  const route = createRouter({
    commands: opts.commands,
    buttons: opts.buttons,
    services: opts.services,
    teacherRole: config.teacherRole,
    texts: adapterTexts(config.locale),
    autoDeferMs: opts.autoDeferMs ?? 2000,
    log,
  });
  client.on(Events.InteractionCreate, (i) => {
    route(i).catch((e: unknown) => log(`discord: unhandled interaction error: ${e instanceof Error ? e.message : String(e)}`));
  });
  client.on(Events.Error, (e) => log(`discord: client error: ${e.message}`));
  client.on(Events.ShardError, (e, shard) => log(`discord: shard ${shard} error: ${e.message}`));

  const ready = new Promise<Client<true>>((resolve) => client.once(Events.ClientReady, resolve));
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new QuijoteError('OFFLINE', 'Discord no respondió a tiempo al conectar el bot.', { hint: 'Comprueba la conexión a internet y el token.' })),
      opts.readyTimeoutMs ?? 30_000,
    );
  });
  const loggedIn = client.login(config.token).then(() => ready);
  loggedIn.catch(() => undefined); // a late failure after the timeout must not become an unhandled rejection
  try {
    const readyClient = await Promise.race([loggedIn, timeout]);
    log(`discord: connected as ${readyClient.user.tag} in ${readyClient.guilds.cache.size} server(s)`);
    if (config.guildId && !readyClient.guilds.cache.has(config.guildId)) {
      log(`discord: the bot is not in server ${config.guildId} (DISCORD_GUILD_ID); invite it with the applications.commands and bot scopes`);
    }
    return { client: readyClient, ...channelIO(readyClient), stop: () => client.destroy() };
  } catch (e) {
    await client.destroy();
    if (e instanceof Error && /TokenInvalid|invalid token/i.test(`${(e as { code?: string }).code ?? ''} ${e.message}`)) {
      throw new QuijoteError('BAD_CONFIG', 'Discord rechazó el token del bot.', { cause: e, hint: 'Revisa DISCORD_TOKEN en .env (Developer Portal → Bot → Reset Token).' });
    }
    throw e;
  } finally {
    clearTimeout(timer);
  }
}
