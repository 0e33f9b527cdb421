/**
 * A fake Discord on 127.0.0.1 that the REAL discord.js client talks to: REST under `/api/v10` (point the client's
 * `rest.api` at `fake.api`) and a Gateway WebSocket (its URL comes from GET /gateway/bot). It records every REST
 * request and keeps the state Discord would keep (messages, interactions, registered commands), so tests assert
 * what the bot sent and inject slash commands and button clicks as INTERACTION_CREATE dispatches, or as signed
 * POSTs to the bot's Interactions Endpoint URL after `useHttpInteractions`.
 *
 * Discord rules it enforces, so adapter bugs surface: 3 s to acknowledge an interaction, one acknowledgement per
 * interaction, expiring interaction tokens (`expire()`), no empty messages, bot-token auth on bot routes.
 */
import { sign, type KeyObject } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PermissionFlagsBits, PermissionsBitField } from 'discord.js';
import { WebSocketServer, type WebSocket } from 'ws';
import { FakeGateway } from './fake-discord-gateway.ts';
import { FakeRest, HeldRequest, type Fault, type FakeInteraction, type FakeMessage, type RecordedRequest } from './fake-discord-rest.ts';
import { memberJson, roleJson, snowflake, textChannelJson, userJson, type FakeRole, type FakeUser } from './fake-discord-wire.ts';

export type { FakeAttachment, FakeInteraction, FakeMessage, RecordedRequest } from './fake-discord-rest.ts';
export { HeldRequest } from './fake-discord-rest.ts';
export { snowflake, userJson, type FakeUser, type RecordedFile } from './fake-discord-wire.ts';

export interface FakeDiscordOptions {
  token?: string;
  appId?: string;
  guildId?: string;
  /** Text channel names; the first one is `fake.channelId`. */
  channels?: string[];
  /** Guild roles besides @everyone. */
  roles?: { name: string; permissions?: bigint }[];
  everyonePermissions?: bigint;
  heartbeatIntervalMs?: number;
  /** Time the bot has to acknowledge an interaction (Discord: 3000 ms). */
  ackTimeoutMs?: number;
  /**
   * Per-channel rate limit on message edits, answered like Discord: rate-limit headers on every edit and, past
   * the limit, `429` with `retry_after` (discord.js waits and retries). Discord's is about 5 per 5 s per channel.
   */
  editRate?: { limit: number; windowMs: number; announce?: boolean };
  /** The bot's own permissions in the channels (default: all). */
  botPermissions?: bigint;
  /** Extra time before each channel message edit is applied (so edits sent together can land out of order). */
  editDelayMs?: () => number;
}

/** Who acts: a user with role names and/or extra permission bits. */
/** A file attached to a slash command's attachment option (Discord's resolved attachment object). */
export interface SlashAttachment {
  id: string;
  filename: string;
  size: number;
  url: string;
  proxy_url: string;
  content_type: string;
}

export interface Actor {
  user?: FakeUser;
  roles?: string[];
  permissions?: bigint;
  nick?: string;
  channelId?: string;
}

const DEFAULT_EVERYONE =
  PermissionFlagsBits.ViewChannel | PermissionFlagsBits.SendMessages | PermissionFlagsBits.ReadMessageHistory |
  PermissionFlagsBits.UseApplicationCommands | PermissionFlagsBits.AddReactions | PermissionFlagsBits.AttachFiles;

export class FakeDiscord {
  readonly token: string;
  readonly appId: string;
  readonly guildId: string;
  readonly channelId: string;
  readonly bot: FakeUser;
  /** A default student used when an Actor names no user. */
  readonly student: FakeUser;
  readonly requests: RecordedRequest[] = [];
  readonly interactions: FakeInteraction[] = [];
  readonly gateway: FakeGateway;
  api = '';
  private readonly events = new EventEmitter();
  private readonly channels: { id: string; name: string }[];
  private readonly roles: FakeRole[];
  private readonly everyonePermissions: bigint;
  private readonly ackTimeoutMs: number;
  private readonly botPermissions: bigint;
  private readonly faults: Fault[] = [];
  private readonly allMessages: FakeMessage[] = [];
  private readonly registered = new Map<string, any[]>(); // 'global' | guildId → commands
  private readonly rest: FakeRest;
  private server!: Server;
  private wss!: WebSocketServer;

  private constructor(o: FakeDiscordOptions) {
    this.token = o.token ?? 'fake-bot-token';
    this.appId = o.appId ?? snowflake();
    this.guildId = o.guildId ?? snowflake();
    this.bot = userJson('quijote-bot', { id: this.appId, bot: true });
    this.student = userJson('alumno');
    this.channels = (o.channels ?? ['clase']).map((name) => ({ id: snowflake(), name }));
    this.channelId = this.channels[0]!.id;
    this.everyonePermissions = o.everyonePermissions ?? DEFAULT_EVERYONE;
    this.roles = [
      { id: this.guildId, name: '@everyone', permissions: this.everyonePermissions.toString(), position: 0 },
      ...(o.roles ?? []).map((r, i) => ({ id: snowflake(), name: r.name, permissions: (r.permissions ?? 0n).toString(), position: i + 1 })),
    ];
    this.ackTimeoutMs = o.ackTimeoutMs ?? 3000;
    this.botPermissions = o.botPermissions ?? PermissionsBitField.All;
    this.gateway = new FakeGateway({
      token: this.token,
      heartbeatIntervalMs: o.heartbeatIntervalMs ?? 41_250,
      ready: () => this.readyPayload(),
      guildCreate: () => this.guildPayload(),
      onChange: () => this.changed(),
    });
    const self = this;
    this.rest = new FakeRest({
      token: this.token, appId: this.appId, guildId: this.guildId, bot: this.bot, channels: this.channels,
      messages: this.allMessages, interactions: this.interactions, registered: this.registered, requests: this.requests,
      ackTimeoutMs: this.ackTimeoutMs, editRate: o.editRate, botPermissions: this.botPermissions, faults: this.faults, editDelayMs: o.editDelayMs,
      get api() { return self.api; },
      get gatewayUrl() { return self.gateway.url; },
      guild: () => this.guildPayload(),
      changed: () => this.changed(),
    });
  }

  static async start(o: FakeDiscordOptions = {}): Promise<FakeDiscord> {
    const fake = new FakeDiscord(o);
    fake.server = createServer((req, res) => void (fake.serveCdn(req, res) || fake.rest.handle(req, res)));
    fake.wss = new WebSocketServer({ server: fake.server });
    fake.wss.on('connection', (ws: WebSocket, req) => fake.gateway.accept(ws, req.url ?? '/'));
    await new Promise<void>((resolve) => fake.server.listen(0, '127.0.0.1', resolve));
    const { port } = fake.server.address() as AddressInfo;
    fake.api = `http://127.0.0.1:${port}/api`;
    fake.gateway.url = `ws://127.0.0.1:${port}/gateway`;
    return fake;
  }

  async close(): Promise<void> {
    this.gateway.closeAll();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // ---------- test API ----------

  /** A new user; its global name is the capitalised username. */
  user(username: string): FakeUser {
    return userJson(username);
  }

  roleId(name: string): string {
    const role = this.roles.find((r) => r.name === name);
    if (!role) throw new Error(`fake discord: no role named ${name}`);
    return role.id;
  }

  channel(name: string): string {
    const ch = this.channels.find((c) => c.name === name);
    if (!ch) throw new Error(`fake discord: no channel named ${name}`);
    return ch.id;
  }

  /** Commands registered with PUT, globally (no guildId) or for a guild. */
  commands(guildId?: string): any[] {
    return this.registered.get(guildId ?? 'global') ?? [];
  }

  /** Messages in a channel (default: the first), oldest first, without deleted ones. Ephemeral ones are flagged. */
  messages(channelId: string = this.channelId): FakeMessage[] {
    return this.allMessages.filter((m) => m.channelId === channelId && !m.deleted);
  }

  message(id: string): FakeMessage {
    const m = this.allMessages.find((x) => x.id === id);
    if (!m) throw new Error(`fake discord: no message ${id}`);
    return m;
  }

  /** Requests matching a method and a path pattern. */
  requestsTo(method: string, path: RegExp): RecordedRequest[] {
    return this.requests.filter((r) => r.method === method && path.test(r.path));
  }

  /**
   * A file as a member attaches it to a slash command's attachment option: served by this fake's CDN
   * (`/cdn/attachments/…`, no credentials, like Discord's). `size` is what Discord reports (default: the bytes').
   */
  attachment(filename: string, data: Buffer | Uint8Array, o: { contentType?: string; size?: number } = {}): SlashAttachment {
    const id = snowflake();
    this.cdn.set(id, { data: Buffer.from(data), contentType: o.contentType ?? 'text/plain; charset=utf-8' });
    const url = `${this.api.replace(/\/api$/, '')}/cdn/attachments/${this.channelId}/${id}/${encodeURIComponent(filename)}`;
    return { id, filename, size: o.size ?? data.byteLength, url, proxy_url: url, content_type: o.contentType ?? 'text/plain; charset=utf-8' };
  }

  /** Files attached through attachment() and how often the CDN served each. */
  readonly cdn = new Map<string, { data: Buffer; contentType: string; served?: number }>();

  /** Inject a slash command. Option types come from the registered command, else from the JS value. */
  slash(name: string, options: Record<string, string | number | SlashAttachment | undefined> = {}, as: Actor = {}): FakeInteraction {
    const cmd = this.commands(this.guildId).find((c) => c.name === name) ?? this.commands().find((c) => c.name === name);
    const attachments: Record<string, SlashAttachment> = {};
    const opts = Object.entries(options)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => {
        const spec = cmd?.options?.find((o: any) => o.name === k);
        if (cmd && !spec) throw new Error(`fake discord: /${name} has no option ${k}`);
        if (typeof v === 'object') {
          if (spec && spec.type !== 11) throw new Error(`fake discord: /${name} ${k} is not an attachment option`);
          attachments[v.id] = v;
          return { name: k, type: 11, value: v.id };
        }
        return { name: k, type: spec?.type ?? (typeof v === 'string' ? 3 : Number.isInteger(v) ? 4 : 10), value: v };
      });
    const it = this.newInteraction('command', as);
    it.name = name;
    const resolved = Object.keys(attachments).length > 0 ? { resolved: { attachments } } : {};
    this.deliver(it, {
      ...this.interactionBase(it, as),
      type: 2,
      data: { id: cmd?.id ?? snowflake(), name, type: 1, options: opts, ...resolved, ...(cmd?.guild_id ? { guild_id: cmd.guild_id } : {}) },
    });
    return it;
  }

  /** The CDN: GET /cdn/attachments/<channel>/<id>/<name>; true when it answered. */
  private serveCdn(req: IncomingMessage, res: ServerResponse): boolean {
    const m = /^\/cdn\/attachments\/\d+\/(\d+)\//.exec(req.url ?? '');
    if (!m) return false;
    const file = this.cdn.get(m[1]);
    if (!file || req.method !== 'GET') res.writeHead(404).end('not found');
    else {
      file.served = (file.served ?? 0) + 1;
      res.writeHead(200, { 'content-type': file.contentType, 'content-length': String(file.data.length) }).end(file.data);
    }
    return true;
  }

  /**
   * Click a button of a message (the message must show a button with that custom id, unless `stale`: a client
   * still showing an older version of the message, whose buttons are gone now).
   */
  click(message: FakeMessage | string, customId: string, as: Actor = {}, stale = false): FakeInteraction {
    const m = this.message(typeof message === 'string' ? message : message.id);
    if (m.deleted) throw new Error(`fake discord: message ${m.id} was deleted`);
    const button = buttonsOf(m).find((b) => b.custom_id === customId);
    if (!button && !stale) throw new Error(`fake discord: message ${m.id} has no button ${customId} (has: ${buttonsOf(m).map((b) => b.custom_id).join(', ')})`);
    if (button?.disabled) throw new Error(`fake discord: button ${customId} is disabled`);
    const it = this.newInteraction('button', { ...as, channelId: m.channelId });
    it.customId = customId;
    it.message = m;
    this.deliver(it, {
      ...this.interactionBase(it, { ...as, channelId: m.channelId }),
      type: 3,
      data: { custom_id: customId, component_type: 2 },
      message: this.rest.messageJson(m),
    });
    return it;
  }

  /** Drop the connection of the next matching request before answering it (the client sees ECONNRESET). */
  resetNext(method: string, path: RegExp): void {
    this.faults.push({ method, path, kind: 'reset' });
  }

  /**
   * Park the next matching request whose body `matches`: neither applied nor answered until `release()`, and never
   * applied if its client goes away first (a front-end killed while it posts).
   */
  holdNext(method: string, path: RegExp, matches: (body: any) => boolean): HeldRequest {
    const held = new HeldRequest();
    this.faults.push({ method, path, kind: 'hold', matches, held });
    return held;
  }

  /** How many edits were answered with 429 so far. */
  get rateLimitedEdits(): number {
    return this.rest.rateLimited;
  }

  /** Make an interaction's token invalid, as Discord does after 15 minutes. */
  expire(it: FakeInteraction): void {
    it.expired = true;
  }

  /** Resolve with the predicate's first truthy value; re-checked on every request and gateway event, and every 10 ms. */
  waitFor<T>(predicate: () => T | undefined | null | false, opts: { timeoutMs?: number; what?: string } = {}): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        let v: T | undefined | null | false;
        try {
          v = predicate();
        } catch (e) {
          done();
          reject(e);
          return true;
        }
        if (!v) return false;
        done();
        resolve(v);
        return true;
      };
      const timer = setTimeout(() => {
        done();
        const last = this.requests.slice(-8).map((r) => `${r.method} ${r.path} → ${r.status}`).join('\n  ');
        reject(new Error(`fake discord: timed out waiting for ${opts.what ?? 'condition'}; last requests:\n  ${last}`));
      }, opts.timeoutMs ?? 5000);
      const poll = setInterval(check, 10); // state the bot changes without a request (e.g. test hooks)
      const done = (): void => {
        clearTimeout(timer);
        clearInterval(poll);
        this.events.off('change', check);
      };
      if (!check()) this.events.on('change', check);
    });
  }

  /** Resolve once no REST request has arrived for `quietMs`. */
  async settle(quietMs = 150): Promise<void> {
    for (;;) {
      const n = this.requests.length;
      await new Promise((r) => setTimeout(r, quietMs));
      if (this.requests.length === n) return;
    }
  }

  // ---------- HTTP interactions (the Interactions Endpoint URL) ----------

  private http: { urls: string[]; key: KeyObject; next: number } | null = null;
  /** Each HTTP delivery: which endpoint, the HTTP status and body the bot answered. */
  readonly httpDeliveries: { interactionId: string; url: string; status: number; body: string }[] = [];

  /**
   * From now on interactions are POSTed, signed with `privateKey` (Ed25519), to the endpoints in turn (a round-robin
   * load balancer) instead of dispatched on the Gateway; the bot's HTTP answer is applied as its first callback.
   */
  useHttpInteractions(urls: string[], privateKey: KeyObject): void {
    this.http = { urls, key: privateKey, next: 0 };
  }

  private deliver(it: FakeInteraction, payload: Record<string, unknown>): void {
    if (!this.http) return void this.gateway.dispatch('INTERACTION_CREATE', payload);
    const h = this.http;
    const url = h.urls[h.next++ % h.urls.length]!;
    const body = JSON.stringify(payload);
    const ts = String(Math.floor(Date.now() / 1000));
    const signature = sign(null, Buffer.from(ts + body), h.key).toString('hex');
    void (async () => {
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-signature-ed25519': signature, 'x-signature-timestamp': ts }, body });
      const text = await res.text();
      this.httpDeliveries.push({ interactionId: it.id, url, status: res.status, body: text });
      if (res.ok) {
        await fetch(`${this.api}/v10/interactions/${it.id}/${it.token}/callback`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: text });
      }
      this.changed();
    })().catch((e: unknown) => {
      this.httpDeliveries.push({ interactionId: it.id, url, status: 0, body: String(e) });
      this.changed();
    });
  }

  // ---------- state helpers ----------

  private changed(): void {
    this.events.emit('change');
  }

  private newInteraction(kind: FakeInteraction['kind'], as: Actor): FakeInteraction {
    if (!this.gateway.connected && !this.http) throw new Error('fake discord: no bot is connected to the gateway');
    const it: FakeInteraction = {
      id: snowflake(), token: `itok-${snowflake()}`, kind, user: as.user ?? this.student, channelId: as.channelId ?? this.channelId,
      createdAt: Date.now(), expired: false, callbacks: [], followups: [],
    };
    this.interactions.push(it);
    return it;
  }

  private memberPermissions(as: Actor): bigint {
    let bits = this.everyonePermissions | (as.permissions ?? 0n);
    for (const name of as.roles ?? []) bits |= BigInt(this.roles.find((r) => r.name === name)?.permissions ?? '0');
    return bits & PermissionFlagsBits.Administrator ? PermissionsBitField.All : bits;
  }

  private interactionBase(it: FakeInteraction, as: Actor): Record<string, unknown> {
    const ch = this.channels.find((c) => c.id === it.channelId);
    const roleIds = (as.roles ?? []).map((n) => this.roleId(n));
    return {
      id: it.id, application_id: this.appId, token: it.token, version: 1,
      guild_id: this.guildId, channel_id: it.channelId,
      channel: textChannelJson(it.channelId, this.guildId, ch?.name ?? 'canal', 0),
      member: memberJson(it.user, roleIds, { nick: as.nick ?? null, permissions: this.memberPermissions(as).toString() }),
      app_permissions: this.botPermissions.toString(), locale: 'es-ES', guild_locale: 'es-ES',
      entitlements: [], authorizing_integration_owners: { 0: this.guildId }, context: 0, attachment_size_limit: 10 * 1024 * 1024,
    };
  }

  private readyPayload(): Record<string, unknown> {
    return {
      v: 10, user: { ...this.bot, verified: true, mfa_enabled: false, flags: 0 }, guilds: [{ id: this.guildId, unavailable: true }],
      session_id: `session-${snowflake()}`, resume_gateway_url: this.gateway.url, shard: [0, 1],
      application: { id: this.appId, flags: 0 },
    };
  }

  private guildPayload(): Record<string, unknown> {
    return {
      id: this.guildId, name: 'Aula de Literatura', icon: null, owner_id: snowflake(), afk_channel_id: null, afk_timeout: 300,
      verification_level: 0, default_message_notifications: 0, explicit_content_filter: 0, mfa_level: 0, nsfw_level: 0,
      roles: this.roles.map(roleJson), emojis: [], stickers: [], features: [], application_id: null,
      system_channel_id: null, system_channel_flags: 0, rules_channel_id: null, public_updates_channel_id: null,
      joined_at: new Date().toISOString(), large: false, unavailable: false, member_count: 1,
      members: [memberJson(this.bot, [])], channels: this.channels.map((c, i) => textChannelJson(c.id, this.guildId, c.name, i)),
      threads: [], presences: [], voice_states: [], stage_instances: [], guild_scheduled_events: [], soundboard_sounds: [],
      preferred_locale: 'es-ES', premium_tier: 0, premium_subscription_count: 0, premium_progress_bar_enabled: false,
      description: null, banner: null, splash: null, discovery_splash: null, vanity_url_code: null, max_members: 500000,
    };
  }
}

/** The buttons shown by a message, flattened from its action rows. */
export function buttonsOf(m: FakeMessage): { custom_id: string; label: string; style: number; disabled?: boolean }[] {
  return m.components.flatMap((row: any) => (row.components ?? []).filter((c: any) => c.type === 2));
}
