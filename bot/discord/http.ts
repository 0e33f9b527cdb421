/**
 * Discord over HTTP: the Interactions Endpoint URL instead of a Gateway connection, so that several stateless
 * front-ends can sit behind a load balancer (the Gateway delivers each interaction to the one process holding the
 * shard). Each POST is verified with the application's Ed25519 public key (node:crypto), PING gets PONG, and
 * commands and buttons go through the SAME router as the Gateway path (router.ts): the raw interaction becomes a
 * discord.js interaction exactly as a Gateway INTERACTION_CREATE does, and the router's first acknowledgement
 * (defer, reply, update) is sent back as the HTTP response instead of the REST callback. An acknowledgement that
 * carries files is answered as a deferral and its content put on @original through the interaction webhook
 * (retried while Discord has not yet registered the answer).
 * Everything after the first acknowledgement (edits, follow-ups, channel posts) is ordinary REST with the bot token.
 */
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client, Events, Routes } from 'discord.js';
import type { ButtonHandler, Command, PlatformRuntime, Services } from '../../commands/types.ts';
import { channelIO } from './index.ts';
import { QuijoteError } from '../../core/errors.ts';
import { createRouter } from './router.ts';
import { adapterTexts, type Locale } from './texts.ts';

const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** The application's public key (Developer Portal → General Information → Public Key, 64 hex digits). */
export function discordPublicKey(hex: string): KeyObject {
  if (!/^[0-9a-f]{64}$/i.test(hex.trim())) {
    throw new QuijoteError('BAD_CONFIG', 'DISCORD_PUBLIC_KEY must be the application\'s public key: 64 hexadecimal digits.', {
      hint: 'Copy it from the Developer Portal → your application → General Information → Public Key.',
    });
  }
  return createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, Buffer.from(hex.trim(), 'hex')]), format: 'der', type: 'spki' });
}

/** Discord's scheme: Ed25519 over timestamp + raw body, signature in X-Signature-Ed25519 (hex). */
export function verifyDiscordSignature(key: KeyObject, signatureHex: string | undefined, timestamp: string | undefined, body: Buffer): boolean {
  if (!signatureHex || !timestamp || !/^[0-9a-f]{128}$/i.test(signatureHex) || !/^\d{1,12}$/.test(timestamp)) return false;
  return verify(null, Buffer.concat([Buffer.from(timestamp, 'utf8'), body]), key, Buffer.from(signatureHex, 'hex'));
}

export interface InteractionsEndpointOptions {
  publicKey: string;
  /** A discord.js client with the bot token set (no Gateway login needed); interactions are emitted on it as
   *  Events.InteractionCreate, where the router listens as on the Gateway path. */
  client: Client;
  now?: () => number;
  /** Requests whose signed timestamp is further than this from now are refused (replays). Default 5 minutes. */
  maxSkewMs?: number;
  /** Answer 500 when the router has not acknowledged within this time (Discord gives 3 s). Default 2900. */
  ackTimeoutMs?: number;
  maxBodyBytes?: number;
  log: (line: string) => void;
}

interface Pending {
  token: string;
  appId: string;
  type: number;
  respond(body: unknown): Promise<void>;
}

interface RawInteraction {
  id: string;
  type: number;
  token: string;
  application_id: string;
  guild_id?: string;
}

type ClientInternals = { actions: { InteractionCreate: { handle(data: unknown): void } } };

/** The Node request handler for the Interactions Endpoint URL. */
export function createInteractionsEndpoint(o: InteractionsEndpointOptions): http.RequestListener {
  const key = discordPublicKey(o.publicKey);
  const now = o.now ?? Date.now;
  const pending = new Map<string, Pending>();
  const guildsFetchedAt = new Map<string, number>();

  // The router answers through discord.js; its first acknowledgement of an HTTP interaction becomes the HTTP answer.
  const rest = o.client.rest;
  const post = rest.post.bind(rest);
  rest.post = async (route, options = {}) => {
    const m = /^\/interactions\/(\d+)\/([^/]+)\/callback$/.exec(route);
    const p = m ? pending.get(m[1]!) : undefined;
    if (!m || !p || p.token !== m[2]) return post(route, options);
    pending.delete(m[1]!);
    const body = options.body as { type: number; data?: Record<string, unknown> };
    if (options.files?.length) {
      await p.respond(body.type === 7 ? { type: 6 } : { type: 5, data: { flags: Number(body.data?.flags ?? 0) } });
      // Discord registers the HTTP answer a moment after it leaves here; until then @original is unknown (404).
      for (let attempt = 0; ; attempt++) {
        try {
          await o.client.rest.patch(Routes.webhookMessage(p.appId, p.token), { body: body.data, files: options.files, auth: false });
          break;
        } catch (e) {
          if ((e as { status?: number }).status !== 404 || attempt >= 6) throw e;
          await new Promise((r) => setTimeout(r, 50 * 2 ** attempt));
        }
      }
    } else {
      await p.respond(body);
    }
    return { interaction: { id: m[1], type: p.type }, resource: null };
  };

  /** Guild roles are needed to recognise the teacher role by name (interactions carry role ids only). */
  async function ensureGuild(guildId: string | undefined): Promise<void> {
    if (!guildId) return;
    const at = guildsFetchedAt.get(guildId);
    if (at !== undefined && now() - at < 10 * 60_000 && o.client.guilds.cache.has(guildId)) return;
    await o.client.guilds.fetch({ guild: guildId, force: true });
    guildsFetchedAt.set(guildId, now());
  }

  return (req, res) => {
    const send = (status: number, body: unknown) => {
      if (res.headersSent) return;
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    if (req.method !== 'POST') return void send(405, { error: 'POST only' });
    const chunks: Buffer[] = [];
    let size = 0;
    const limit = o.maxBodyBytes ?? 1 << 20;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) { send(413, { error: 'body too large' }); req.destroy(); } else chunks.push(c);
    });
    req.on('end', () => {
      if (res.headersSent) return;
      const body = Buffer.concat(chunks);
      const ts = req.headers['x-signature-timestamp'] as string | undefined;
      if (!verifyDiscordSignature(key, req.headers['x-signature-ed25519'] as string | undefined, ts, body)) return void send(401, { error: 'invalid request signature' });
      if (Math.abs(now() - Number(ts) * 1000) > (o.maxSkewMs ?? 5 * 60_000)) return void send(401, { error: 'stale request timestamp' });
      let data: RawInteraction;
      try {
        data = JSON.parse(body.toString('utf8')) as RawInteraction;
      } catch {
        return void send(400, { error: 'body is not JSON' });
      }
      if (data.type === 1) return void send(200, { type: 1 }); // PING → PONG
      if (data.type !== 2 && data.type !== 3) return void send(400, { error: `interaction type ${data.type} is not handled` });

      const timer = setTimeout(() => {
        if (pending.delete(data.id)) {
          o.log(`discord-http: interaction ${data.id} was not acknowledged in time`);
          send(500, { error: 'not acknowledged in time' });
        }
      }, o.ackTimeoutMs ?? 2900);
      pending.set(data.id, {
        token: data.token, appId: data.application_id, type: data.type,
        respond: (answer) => new Promise<void>((resolve) => {
          clearTimeout(timer);
          if (res.headersSent) return resolve();
          res.once('finish', () => resolve());
          res.once('close', () => resolve());
          send(200, answer);
        }),
      });
      ensureGuild(data.guild_id)
        .catch((e: unknown) => o.log(`discord-http: could not fetch guild ${data.guild_id}: ${e instanceof Error ? e.message : String(e)}`))
        .then(() => (o.client as unknown as ClientInternals).actions.InteractionCreate.handle(data)) // as the Gateway's INTERACTION_CREATE
        .catch((e: unknown) => o.log(`discord-http: interaction ${data.id} failed: ${e instanceof Error ? e.message : String(e)}`));
    });
  };
}

export interface StartDiscordHttpOptions {
  config: { token: string | null; publicKey: string | null; teacherRole: string; locale?: Locale };
  commands: Command[];
  buttons: ButtonHandler[];
  services: Services;
  /** Where to listen (behind the load balancer's TLS). Port 0 picks a free one. */
  port: number;
  host?: string;
  rest?: { api: string };
  autoDeferMs?: number;
  log?: (line: string) => void;
}

export interface DiscordHttpBot extends PlatformRuntime {
  client: Client;
  /** http://host:port/ — point the load balancer (and the Developer Portal's Interactions Endpoint URL) here. */
  url: string;
  stop(): Promise<void>;
}

export async function startDiscordHttp(opts: StartDiscordHttpOptions): Promise<DiscordHttpBot> {
  const log = opts.log ?? ((line: string) => console.error(line));
  if (!opts.config.token) throw new QuijoteError('BAD_CONFIG', 'Falta el token del bot de Discord.', { hint: 'Define DISCORD_TOKEN en .env.' });
  if (!opts.config.publicKey) throw new QuijoteError('BAD_CONFIG', 'Falta la clave pública de la aplicación de Discord.', { hint: 'Define DISCORD_PUBLIC_KEY (Developer Portal → General Information → Public Key).' });
  const client = new Client({ intents: [], ...(opts.rest ? { rest: { api: opts.rest.api } } : {}) });
  client.token = opts.config.token;
  client.rest.setToken(opts.config.token);
  const route = createRouter({
    commands: opts.commands, buttons: opts.buttons, services: opts.services, teacherRole: opts.config.teacherRole,
    texts: adapterTexts(opts.config.locale), autoDeferMs: opts.autoDeferMs ?? 2000, log,
  });
  client.on(Events.InteractionCreate, (i) => {
    route(i).catch((e: unknown) => log(`discord: unhandled interaction error: ${e instanceof Error ? e.message : String(e)}`));
  });
  const handler = createInteractionsEndpoint({ publicKey: opts.config.publicKey, client, log });
  const server = http.createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '127.0.0.1', () => resolve());
  });
  const { address, port } = server.address() as AddressInfo;
  const url = `http://${address.includes(':') ? `[${address}]` : address}:${port}/`;
  log(`discord: interactions endpoint listening on ${url}`);
  return {
    client,
    url,
    ...channelIO(client as Client<true>),
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await client.destroy();
    },
  };
}
