/**
 * The fake Discord's REST API (v10): gateway info, application commands, interaction callbacks, interaction
 * webhooks (@original, follow-ups) and channel messages, JSON or multipart. It records every request.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBody, snowflake, textChannelJson, type FakeUser, type ParsedBody, type RecordedFile } from './fake-discord-wire.ts';

export interface RecordedRequest {
  method: string;
  path: string; // without the `/api/v10` prefix, e.g. `/channels/1/messages`
  query: URLSearchParams;
  auth: string | null;
  body: any; // parsed JSON body (or multipart payload_json)
  files: RecordedFile[];
  status: number;
}

export interface FakeAttachment {
  id: string;
  filename: string;
  size: number;
  content_type: string;
  description?: string;
  data: Buffer;
}

export interface FakeMessage {
  id: string;
  channelId: string;
  author: FakeUser;
  content: string;
  components: any[];
  attachments: FakeAttachment[];
  flags: number;
  ephemeral: boolean;
  deleted: boolean;
  edits: number;
  /** Set for interaction responses and follow-ups (sent through the interaction webhook). */
  interactionId?: string;
}

export interface FakeInteraction {
  id: string;
  token: string;
  kind: 'command' | 'button';
  name?: string;
  customId?: string;
  user: FakeUser;
  channelId: string;
  createdAt: number;
  expired: boolean;
  /** `at`: Date.now() when the callback arrived (the user saw the answer). */
  callbacks: { type: number; data: any; files: RecordedFile[]; at: number }[];
  /** The @original response: the reply, the deferred placeholder, or (buttons, type 6/7) the clicked message. */
  original?: FakeMessage;
  followups: FakeMessage[];
  /** The clicked message (buttons). */
  message?: FakeMessage;
}

/** The state the REST API reads and changes; FakeDiscord owns it. */
export interface FakeWorld {
  /** GET /guilds/:id (the HTTP-interactions front-end fetches roles to recognise the teacher role by name). */
  guild?: () => Record<string, unknown>;
  readonly token: string;
  readonly appId: string;
  readonly guildId: string;
  readonly bot: FakeUser;
  readonly channels: readonly { id: string; name: string }[];
  readonly messages: FakeMessage[];
  readonly interactions: FakeInteraction[];
  readonly registered: Map<string, any[]>; // 'global' | guildId → commands
  readonly requests: RecordedRequest[];
  readonly ackTimeoutMs: number;
  readonly api: string;
  readonly gatewayUrl: string;
  /** Per-channel limit on message edits (PATCH /channels/:id/messages/:id), like Discord's: 429 + retry_after. */
  readonly editRate?: { limit: number; windowMs: number; /** send X-RateLimit-* on successful edits (default true) */ announce?: boolean };
  /** The bot's permissions in every channel (POST /channels/:id/messages needs View Channel + Send Messages). */
  readonly botPermissions: bigint;
  /**
   * Requests to fail, once per entry: `reset` destroys the connection before any reply (ECONNRESET); `hold` parks a
   * request whose body `matches` unanswered and unapplied until `held.release()`, or drops it if its client goes
   * away first (a client killed while it waits: nothing was created).
   */
  readonly faults: Fault[];
  /** Extra time before a channel message edit (PATCH) is applied and answered, per edit: edits sent at once can land out of order. */
  readonly editDelayMs?: () => number;
  changed(): void;
}

export type Fault =
  | { method: string; path: RegExp; kind: 'reset' }
  | { method: string; path: RegExp; kind: 'hold'; matches: (body: any) => boolean; held: HeldRequest };

/** A request parked by a `hold` fault. */
export class HeldRequest {
  /** Resolves when the request arrives, with its body. */
  readonly arrived: Promise<any>;
  /** Resolves when it is released (true) or dropped because its client went away (false). */
  readonly settled: Promise<boolean>;
  private arrive!: (body: any) => void;
  private settle!: (released: boolean) => void;
  constructor() {
    this.arrived = new Promise((r) => (this.arrive = r));
    this.settled = new Promise((r) => (this.settle = r));
  }
  /** Called by the fake when the request arrives. */
  park(body: any, socketClosed: Promise<void>): Promise<boolean> {
    this.arrive(body);
    void socketClosed.then(() => this.settle(false));
    return this.settled;
  }
  release(): void {
    this.settle(true);
  }
}

/** Fixed-window bucket of one channel's message edits. */
interface EditBucket {
  id: string;
  remaining: number;
  resetAt: number;
}

const LOADING = 1 << 7;
const EPHEMERAL = 1 << 6;

class HttpError extends Error {
  constructor(readonly status: number, readonly code: number, message: string, readonly extra: Record<string, unknown> = {}, readonly headers: Record<string, string> = {}) {
    super(message);
  }
}

const VIEW_CHANNEL = 1n << 10n;
const SEND_MESSAGES = 1n << 11n;
const ATTACH_FILES = 1n << 15n;

export class FakeRest {
  private readonly editBuckets = new Map<string, EditBucket>();
  /** 429 replies sent, for tests. */
  rateLimited = 0;

  constructor(private readonly w: FakeWorld) {}

  /** Takes one edit from the channel's bucket or throws Discord's 429; returns the rate-limit headers. */
  private takeEdit(channelId: string): Record<string, string> {
    const rate = this.w.editRate;
    if (!rate) return {};
    const now = Date.now();
    let b = this.editBuckets.get(channelId);
    if (!b || now >= b.resetAt) {
      b = { id: b?.id ?? `edit-${channelId}`, remaining: rate.limit, resetAt: now + rate.windowMs };
      this.editBuckets.set(channelId, b);
    }
    const resetAfter = Math.max(0, b.resetAt - now) / 1000;
    const headers = (remaining: number): Record<string, string> => ({
      'x-ratelimit-limit': String(rate.limit), 'x-ratelimit-remaining': String(remaining),
      'x-ratelimit-reset': String(b!.resetAt / 1000), 'x-ratelimit-reset-after': resetAfter.toFixed(3), 'x-ratelimit-bucket': b!.id,
    });
    if (b.remaining <= 0) {
      this.rateLimited++;
      throw new HttpError(429, 0, 'You are being rate limited.', { retry_after: resetAfter, global: false }, {
        ...headers(0), 'retry-after': resetAfter.toFixed(3), 'x-ratelimit-scope': 'user',
      });
    }
    b.remaining--;
    return rate.announce === false ? {} : headers(b.remaining);
  }

  messageJson(m: FakeMessage): Record<string, unknown> {
    return {
      id: m.id, type: m.interactionId ? 20 : 0, channel_id: m.channelId, author: m.author, content: m.content,
      timestamp: new Date().toISOString(), edited_timestamp: m.edits ? new Date().toISOString() : null, tts: false,
      mention_everyone: false, mentions: [], mention_roles: [], embeds: [], pinned: false, flags: m.flags,
      components: m.components,
      attachments: m.attachments.map(({ data: _data, ...a }) => ({ ...a, url: `${this.w.api}/attachments/${a.id}/${a.filename}`, proxy_url: `${this.w.api}/attachments/${a.id}/${a.filename}` })),
      ...(m.interactionId ? { webhook_id: this.w.appId, application_id: this.w.appId } : {}),
    };
  }

  createMessage(channelId: string, body: ParsedBody, extra: { flags?: number; interactionId?: string; placeholder?: boolean }): FakeMessage {
    const json = body.json ?? {};
    const m: FakeMessage = {
      id: snowflake(), channelId, author: this.w.bot, content: json.content ?? '', components: json.components ?? [],
      attachments: newAttachments(json, body.files), flags: extra.flags ?? json.flags ?? 0, ephemeral: false, deleted: false,
      edits: 0, interactionId: extra.interactionId,
    };
    m.ephemeral = (m.flags & EPHEMERAL) !== 0;
    if (!extra.placeholder && !m.content && !m.components.length && !m.attachments.length) {
      throw new HttpError(400, 50006, 'Cannot send an empty message');
    }
    this.w.messages.push(m);
    return m;
  }

  private editMessage(m: FakeMessage, body: ParsedBody): void {
    const json = body.json ?? {};
    if (m.deleted) throw new HttpError(404, 10008, 'Unknown Message');
    if ('content' in json) m.content = json.content ?? '';
    if ('components' in json) m.components = json.components ?? [];
    const kept = Array.isArray(json.attachments)
      ? m.attachments.filter((a) => json.attachments.some((x: any) => String(x.id) === a.id))
      : m.attachments;
    m.attachments = [...kept, ...newAttachments(json, body.files)];
    m.flags &= ~LOADING;
    m.edits++;
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const path = decodeURIComponent(url.pathname).replace(/^\/api\/v10(?=\/)/, '');
    let body: ParsedBody = { json: null, files: [], contentType: '' };
    let status = 200;
    let out: unknown;
    const headers: Record<string, string> = {};
    try {
      body = await readBody(req);
      const fault = this.w.faults.findIndex((f) => f.method === req.method && f.path.test(path) && (f.kind !== 'hold' || f.matches(body.json)));
      const f = fault >= 0 ? this.w.faults[fault]! : undefined;
      if (f?.kind === 'hold') {
        this.w.faults.splice(fault, 1);
        this.w.changed();
        const closed = new Promise<void>((r) => req.socket.once('close', () => r()));
        if (!(await f.held.park(body.json, closed))) {
          this.w.requests.push({ method: req.method ?? 'GET', path, query: url.searchParams, auth: req.headers.authorization ?? null, body: body.json, files: body.files, status: 0 });
          this.w.changed();
          return; // its client is gone: never applied
        }
      } else if (fault >= 0) {
        this.w.faults.splice(fault, 1);
        this.w.requests.push({ method: req.method ?? 'GET', path, query: url.searchParams, auth: req.headers.authorization ?? null, body: body.json, files: body.files, status: 0 });
        req.socket.destroy(); // the client sees ECONNRESET / "other side closed"
        this.w.changed();
        return;
      }
      if (!url.pathname.startsWith('/api/v10/')) throw new HttpError(404, 0, `404: Not Found (expected /api/v10, got ${url.pathname})`);
      if (this.w.editDelayMs && req.method === 'PATCH' && /^\/channels\/\d+\/messages\/\d+$/.test(path)) {
        await new Promise((r) => setTimeout(r, this.w.editDelayMs!()));
      }
      out = this.route(req.method ?? 'GET', path, url.searchParams, body, req.headers.authorization ?? null, headers);
      if (out === undefined) status = 204;
    } catch (e) {
      const err = e instanceof HttpError ? e : new HttpError(500, 0, e instanceof Error ? e.message : String(e));
      status = err.status;
      out = { message: err.message, code: err.code, ...err.extra };
      Object.assign(headers, err.headers);
    }
    this.w.requests.push({ method: req.method ?? 'GET', path, query: url.searchParams, auth: req.headers.authorization ?? null, body: body.json, files: body.files, status });
    if (status === 204) res.writeHead(204, headers).end();
    else res.writeHead(status, { ...headers, 'content-type': 'application/json' }).end(JSON.stringify(out));
    this.w.changed();
  }

  private route(method: string, path: string, query: URLSearchParams, body: ParsedBody, auth: string | null, headers: Record<string, string>): unknown {
    const bot = (): void => {
      if (auth !== `Bot ${this.w.token}`) throw new HttpError(401, 0, '401: Unauthorized');
    };
    let m: RegExpExecArray | null;
    if (method === 'GET' && path === '/gateway/bot') {
      bot();
      return { url: this.w.gatewayUrl, shards: 1, session_start_limit: { total: 1000, remaining: 999, reset_after: 0, max_concurrency: 1 } };
    }
    if (method === 'GET' && path === '/users/@me') return bot(), this.w.bot;
    if (method === 'GET' && path === `/guilds/${this.w.guildId}` && this.w.guild) return bot(), this.w.guild();
    if ((m = /^\/applications\/(\d+)(?:\/guilds\/(\d+))?\/commands$/.exec(path))) {
      bot();
      if (m[1] !== this.w.appId) throw new HttpError(403, 50001, 'Missing Access');
      const key = m[2] ?? 'global';
      if (method === 'PUT') {
        const cmds = (body.json as any[]).map((c) => ({ ...c, id: snowflake(), application_id: this.w.appId, version: snowflake(), ...(m![2] ? { guild_id: m![2] } : {}) }));
        this.w.registered.set(key, cmds);
        return cmds;
      }
      if (method === 'GET') return this.w.registered.get(key) ?? [];
    }
    if (method === 'POST' && (m = /^\/interactions\/(\d+)\/([^/]+)\/callback$/.exec(path))) return this.callback(m[1]!, m[2]!, query, body);
    if ((m = /^\/webhooks\/(\d+)\/([^/]+)(?:\/messages\/([^/]+))?$/.exec(path))) return this.webhook(method, m[1]!, m[2]!, m[3], body);
    if ((m = /^\/channels\/(\d+)(\/messages(?:\/(\d+))?)?$/.exec(path))) {
      bot();
      const channelId = m[1]!;
      if (!this.w.channels.some((c) => c.id === channelId)) throw new HttpError(404, 10003, 'Unknown Channel');
      if (!m[2] && method === 'GET') return textChannelJson(channelId, this.w.guildId, this.w.channels.find((c) => c.id === channelId)!.name, 0);
      if (m[2] && !m[3] && method === 'POST') {
        const perms = this.w.botPermissions;
        if ((perms & VIEW_CHANNEL) === 0n) throw new HttpError(403, 50001, 'Missing Access');
        if ((perms & SEND_MESSAGES) === 0n || (body.files.length > 0 && (perms & ATTACH_FILES) === 0n)) throw new HttpError(403, 50013, 'Missing Permissions');
        return this.messageJson(this.createMessage(channelId, body, {}));
      }
      if (m[3]) {
        const msg = this.w.messages.find((x) => x.id === m![3] && x.channelId === channelId && !x.deleted && !x.ephemeral);
        if (!msg) throw new HttpError(404, 10008, 'Unknown Message');
        if (method === 'GET') return this.messageJson(msg);
        if (msg.author.id !== this.w.bot.id) throw new HttpError(403, 50005, 'Cannot edit a message authored by another user');
        if (method === 'PATCH') {
          Object.assign(headers, this.takeEdit(channelId));
          return this.editMessage(msg, body), this.messageJson(msg);
        }
        if (method === 'DELETE') return void (msg.deleted = true);
      }
    }
    throw new HttpError(404, 0, `404: Not Found (${method} ${path} is not implemented by the fake)`);
  }

  private interactionFor(id: string | null, token: string): FakeInteraction {
    const it = this.w.interactions.find((x) => x.token === token && (id === null || x.id === id));
    if (!it) throw new HttpError(404, id === null ? 10015 : 10062, id === null ? 'Unknown Webhook' : 'Unknown interaction');
    if (it.expired) throw new HttpError(401, 50027, 'Invalid Webhook Token');
    return it;
  }

  private callback(id: string, token: string, query: URLSearchParams, body: ParsedBody): unknown {
    const it = this.interactionFor(id, token);
    if (Date.now() - it.createdAt > this.w.ackTimeoutMs) throw new HttpError(404, 10062, 'Unknown interaction');
    if (it.callbacks.length) throw new HttpError(400, 40060, 'Interaction has already been acknowledged.');
    const { type, data } = body.json ?? {};
    const inner: ParsedBody = { ...body, json: data ?? {} };
    switch (type) {
      case 4:
        it.original = this.createMessage(it.channelId, inner, { interactionId: it.id });
        break;
      case 5:
        it.original = this.createMessage(it.channelId, { ...inner, json: {} }, { interactionId: it.id, placeholder: true, flags: ((data?.flags ?? 0) & EPHEMERAL) | LOADING });
        break;
      case 6:
      case 7:
        if (it.kind !== 'button' || !it.message) throw new HttpError(400, 50035, `Invalid Form Body: callback type ${type} needs a component interaction`);
        if (type === 7) this.editMessage(it.message, inner);
        it.original = it.message;
        break;
      default:
        throw new HttpError(400, 50035, `Invalid Form Body: callback type ${type} is not supported by the fake`);
    }
    it.callbacks.push({ type, data: data ?? null, files: body.files, at: Date.now() });
    if (query.get('with_response') !== 'true') return undefined;
    const o = it.original;
    return {
      interaction: { id: it.id, type: it.kind === 'command' ? 2 : 3, response_message_id: o?.id, response_message_loading: type === 5, response_message_ephemeral: o?.ephemeral ?? false },
      resource: { type, ...(o ? { message: this.messageJson(o) } : {}) },
    };
  }

  private webhook(method: string, appId: string, token: string, messageId: string | undefined, body: ParsedBody): unknown {
    if (appId !== this.w.appId) throw new HttpError(404, 10015, 'Unknown Webhook');
    const it = this.interactionFor(null, token);
    if (!it.callbacks.length) throw new HttpError(404, 10015, 'Unknown Webhook');
    if (!messageId) {
      if (method !== 'POST') throw new HttpError(405, 0, '405: Method Not Allowed');
      const m = this.createMessage(it.channelId, body, { interactionId: it.id });
      it.followups.push(m);
      return this.messageJson(m);
    }
    const m = messageId === '@original' ? it.original : [it.original, ...it.followups].find((x) => x?.id === messageId);
    if (!m || m.deleted) throw new HttpError(404, 10008, 'Unknown Message');
    if (method === 'GET') return this.messageJson(m);
    if (method === 'PATCH') return this.editMessage(m, body), this.messageJson(m);
    if (method === 'DELETE') return void (m.deleted = true);
    throw new HttpError(405, 0, '405: Method Not Allowed');
  }
}

function newAttachments(json: any, files: RecordedFile[]): FakeAttachment[] {
  return files.map((f) => {
    const index = /^files\[(\d+)\]$/.exec(f.field)?.[1];
    const meta = (json.attachments ?? []).find((a: any) => String(a.id) === index);
    return { id: snowflake(), filename: f.filename, size: f.data.length, content_type: f.contentType, description: meta?.description, data: f.data };
  });
}
