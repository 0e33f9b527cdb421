/**
 * A fake Slack on 127.0.0.1 for tests of the real Bolt app:
 *  - Web API (`slackApiUrl: fake.apiUrl`): records every call and answers the methods the bot uses;
 *  - Socket Mode: apps.connections.open hands out a ws:// URL on the same server; the fake says `hello`, sends
 *    envelopes (slash_commands, interactive) and records the acks the app sends back;
 *  - HTTP mode: the same slash commands / clicks as genuinely signed POSTs to the app's /slack/events.
 * Inbound helpers pick Socket Mode unless useHttp() was called.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

// Slack payloads are loosely typed JSON; tests read them by field name.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

export interface ApiCall {
  method: string; // "chat.postMessage", …, or "response_url" for POSTs to a response_url
  args: Record<string, Json>; // form fields (JSON-looking values parsed) or JSON body
  token?: string;
  result?: Json; // what the fake answered
}
export interface Ack {
  envelope_id: string;
  payload?: Json;
}
export interface FakeMessage {
  channel: string;
  ts: string;
  text: string;
  blocks: Json[];
}
export interface FakeFile {
  id: string;
  filename: string;
  length: number;
  altText?: string;
  data?: Buffer; // set once the bytes arrive at the upload URL
  channel?: string; // set by files.completeUploadExternal
  title?: string;
}
/** What an inbound request got back: the Socket Mode ack, or the HTTP status and body. */
export interface InboundResult {
  envelopeId?: string;
  ack?: Ack;
  status?: number;
  body?: string;
}
export interface UserRef {
  userId?: string;
  userName?: string;
  channelId?: string;
  teamId?: string;
}
export interface FakeSlackOptions {
  teamId?: string;
  botUserId?: string;
  botToken?: string; // when set, other bot tokens get invalid_auth
  appToken?: string; // when set, other app tokens get invalid_auth from apps.connections.open
  usergroups?: Array<{ id: string; handle: string; users: string[] }>;
}

const TIMEOUT_MS = 5000;

export class FakeSlack {
  readonly apiCalls: ApiCall[] = [];
  readonly acks: Ack[] = [];
  readonly messages = new Map<string, FakeMessage>(); // by ts, channel messages only
  readonly files = new Map<string, FakeFile>();
  /** Files members shared in channels (shareFile), with every download of their url_private and its token. */
  readonly shared = new Map<string, { id: string; name: string; data: Buffer; channel: string; mimetype: string; downloads: Array<string | undefined> }>();
  readonly teamId: string;
  readonly botUserId: string;
  usergroups: Array<{ id: string; handle: string; users: string[] }>;
  /** Channels the bot is not a member of: chat.postMessage / chat.postEphemeral answer not_in_channel. */
  readonly blockedChannels = new Set<string>();
  /** Web API methods answered with an HTTP error (e.g. 503, or 429 with Retry-After seconds) until removed. */
  readonly failing = new Map<string, { status: number; retryAfter?: number }>();
  private seq = 0;
  private sockets = new Set<WebSocket>();
  private http?: { url: string; signingSecret: string };
  private readonly wss = new WebSocketServer({ noServer: true });

  private constructor(private readonly server: Server, readonly port: number, private readonly opts: FakeSlackOptions) {
    this.teamId = opts.teamId ?? 'T0AULA';
    this.botUserId = opts.botUserId ?? 'U0BOT';
    this.usergroups = opts.usergroups ?? [];
  }

  static async start(opts: FakeSlackOptions = {}): Promise<FakeSlack> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const fake = new FakeSlack(server, (server.address() as AddressInfo).port, opts);
    server.on('request', (req, res) => void fake.onRequest(req, res).catch((e) => { res.statusCode = 500; res.end(String(e)); }));
    server.on('upgrade', (req, socket, head) => {
      if (!req.url?.startsWith('/link/')) return socket.destroy();
      fake.wss.handleUpgrade(req, socket, head, (ws) => fake.onSocket(ws));
    });
    return fake;
  }

  get apiUrl(): string {
    return `http://127.0.0.1:${this.port}/api/`;
  }

  /**
   * A member shares a file in a channel: files.info knows it, and its url_private serves the bytes to a bot
   * token only. Returns the links a teacher could paste (the permalink of "Copy link", and url_private).
   */
  shareFile(name: string, data: Buffer | Uint8Array, o: { channel: string; mimetype?: string }): { id: string; permalink: string; urlPrivate: string } {
    const id = `F0SHARED${++this.seq}`;
    this.shared.set(id, { id, name, data: Buffer.from(data), channel: o.channel, mimetype: o.mimetype ?? 'text/plain', downloads: [] });
    return { id, permalink: `https://aula.slack.com/files/U0PROFE/${id}/${encodeURIComponent(name)}`, urlPrivate: this.urlPrivate(id, name) };
  }

  private urlPrivate(id: string, name: string): string {
    return `http://127.0.0.1:${this.port}/files-pri/${this.teamId}-${id}/${encodeURIComponent(name)}`;
  }

  /** Recorded Web API calls, optionally only those of one method. */
  calls(method?: string): ApiCall[] {
    return method ? this.apiCalls.filter((c) => c.method === method) : [...this.apiCalls];
  }

  /** Polls until predicate returns something truthy and resolves with it. */
  async waitFor<T>(predicate: () => T | undefined | null | false, what = 'condition', timeoutMs = TIMEOUT_MS): Promise<T> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const v = predicate();
      if (v) return v;
      if (Date.now() > end) {
        const seen = this.apiCalls.map((c) => c.method).join(', ') || 'none';
        throw new Error(`FakeSlack: timed out after ${timeoutMs} ms waiting for ${what}; API calls so far: ${seen}`);
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** Waits for the n-th (default first) call of `method` that matches `where`. */
  waitForCall(method: string, where: (c: ApiCall) => boolean = () => true, nth = 1): Promise<ApiCall> {
    return this.waitFor(() => this.calls(method).filter(where)[nth - 1], `${method} #${nth}`);
  }

  /** Waits for a channel message (as it is now, after any chat.update) that matches, e.g. one with vote buttons. */
  waitForMessage(where: (m: FakeMessage) => boolean, what = 'a matching channel message'): Promise<FakeMessage> {
    return this.waitFor(() => [...this.messages.values()].find(where), what);
  }

  /** Sends inbound traffic as signed HTTP POSTs to `url` (the app's /slack/events) instead of Socket Mode. */
  useHttp(url: string, signingSecret: string): void {
    this.http = { url, signingSecret };
  }

  /** A user types `/command text`. Resolves once the app acknowledged it. */
  slash(command: string, text: string, who: UserRef = {}): Promise<InboundResult> {
    const userId = who.userId ?? 'U0ALUMNA';
    const payload = {
      token: 'verification-token', team_id: who.teamId ?? this.teamId, team_domain: 'aula', channel_id: who.channelId ?? 'C0CLASE',
      channel_name: 'clase', user_id: userId, user_name: who.userName ?? userId.toLowerCase(), command, text,
      api_app_id: 'A0QUIJOTE', is_enterprise_install: 'false', response_url: this.responseUrl(), trigger_id: this.id('trigger'),
    };
    if (this.http) return this.postSigned(new URLSearchParams(payload).toString());
    return this.sendEnvelope('slash_commands', payload, true);
  }

  /** A user clicks the button `actionId` on the channel message `messageTs`. Resolves once acknowledged. */
  click(messageTs: string, actionId: string, userId = 'U0ALUMNA', who: Omit<UserRef, 'userId'> = {}): Promise<InboundResult> {
    const msg = this.messages.get(messageTs);
    if (!msg) throw new Error(`FakeSlack: no channel message with ts ${messageTs}`);
    const button = this.buttons(messageTs).find((b) => b.action_id === actionId);
    if (!button) throw new Error(`FakeSlack: message ${messageTs} has no button ${actionId} (has ${this.buttons(messageTs).map((b) => b.action_id).join(', ')})`);
    const teamId = who.teamId ?? this.teamId;
    const payload = {
      type: 'block_actions',
      user: { id: userId, username: who.userName ?? userId.toLowerCase(), name: who.userName ?? userId.toLowerCase(), team_id: teamId },
      api_app_id: 'A0QUIJOTE', token: 'verification-token',
      container: { type: 'message', message_ts: msg.ts, channel_id: msg.channel, is_ephemeral: false },
      trigger_id: this.id('trigger'), team: { id: teamId, domain: 'aula' }, enterprise: null, is_enterprise_install: false,
      channel: { id: msg.channel, name: 'clase' },
      message: { type: 'message', user: this.botUserId, ts: msg.ts, text: msg.text, blocks: msg.blocks },
      state: { values: {} }, response_url: this.responseUrl(),
      actions: [{ ...button, block_id: button.block_id ?? 'b', action_ts: `${Date.now() / 1000}` }],
    };
    if (this.http) return this.postSigned(new URLSearchParams({ payload: JSON.stringify(payload) }).toString());
    return this.sendEnvelope('interactive', payload, false);
  }

  /** The button elements currently on a channel message. */
  buttons(messageTs: string): Json[] {
    const blocks = this.messages.get(messageTs)?.blocks ?? [];
    return blocks.filter((b: Json) => b.type === 'actions').flatMap((b: Json) => b.elements.filter((e: Json) => e.type === 'button'));
  }

  /** Sends a Socket Mode envelope (waits for a connected app) and resolves with the app's ack. */
  async sendEnvelope(type: string, payload: Json, acceptsResponsePayload: boolean): Promise<InboundResult> {
    const ws = await this.waitFor(() => [...this.sockets].find((s) => s.readyState === s.OPEN), 'a Socket Mode connection');
    const envelopeId = randomUUID();
    ws.send(JSON.stringify({ envelope_id: envelopeId, payload, type, accepts_response_payload: acceptsResponsePayload }));
    const ack = await this.waitFor(() => this.acks.find((a) => a.envelope_id === envelopeId), `the ack of envelope ${envelopeId}`);
    return { envelopeId, ack };
  }

  /** POSTs a form body to the app with a genuine v0 signature (override timestamp/secret to test rejection). */
  postSigned(body: string, o: { timestamp?: number; secret?: string; signature?: string } = {}): Promise<InboundResult> {
    if (!this.http) throw new Error('FakeSlack: call useHttp(url, signingSecret) first');
    const ts = String(o.timestamp ?? Math.floor(Date.now() / 1000));
    const sig = o.signature ?? 'v0=' + createHmac('sha256', o.secret ?? this.http.signingSecret).update(`v0:${ts}:${body}`).digest('hex');
    return new Promise((resolve, reject) => {
      const req = request(this.http!.url, {
        method: 'POST', agent: false,
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-slack-request-timestamp': ts, 'x-slack-signature': sig },
      }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (d: Buffer) => parts.push(d));
        res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(parts).toString() }));
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  /** Slack asks the app to reconnect (reason: "refresh_requested", "warning", "link_disabled"). */
  disconnect(reason = 'refresh_requested'): void {
    for (const ws of this.sockets) ws.send(JSON.stringify({ type: 'disconnect', reason, debug_info: { host: 'fake-applink' } }));
  }

  get connections(): number {
    return [...this.sockets].filter((s) => s.readyState === s.OPEN).length;
  }

  async close(): Promise<void> {
    for (const ws of this.sockets) ws.terminate();
    this.wss.close();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // ---- internals ----

  private id(prefix: string): string {
    return `${prefix}-${++this.seq}`;
  }

  private nextTs(): string {
    const n = ++this.seq;
    return `${1_700_000_000 + n}.${String(n).padStart(6, '0')}`;
  }

  private responseUrl(): string {
    return `http://127.0.0.1:${this.port}/response/${++this.seq}`;
  }

  private onSocket(ws: WebSocket): void {
    this.sockets.add(ws);
    ws.on('close', () => this.sockets.delete(ws));
    ws.on('message', (data) => {
      const msg = JSON.parse(String(data));
      if (typeof msg.envelope_id === 'string') this.acks.push(msg);
    });
    ws.send(JSON.stringify({
      type: 'hello', num_connections: this.sockets.size,
      debug_info: { host: 'fake-applink', build_number: 1, approximate_connection_time: 18060 },
      connection_info: { app_id: 'A0QUIJOTE' },
    }));
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks);
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const type = String(req.headers['content-type'] ?? '');
    if (url.pathname.startsWith('/upload/')) {
      const file = this.files.get(url.pathname.slice('/upload/'.length));
      const form = await new Response(raw, { headers: { 'content-type': type } }).formData();
      const part = [...form.values()].find((v) => typeof v !== 'string') as Blob | undefined;
      if (!file || !part) return void res.writeHead(404).end('not found');
      file.data = Buffer.from(await part.arrayBuffer());
      res.writeHead(200, { 'content-type': 'text/plain' }).end(`OK - ${file.data.length}`);
      return;
    }
    const pri = /^\/files-pri\/[A-Z0-9]+-(F[A-Z0-9]+)\//.exec(url.pathname);
    if (pri) {
      const f = this.shared.get(pri[1]);
      const auth = String(req.headers.authorization ?? '');
      const token = auth.startsWith('Bearer ') ? auth.slice(7) : undefined;
      f?.downloads.push(token);
      if (!f) return void res.writeHead(404).end('not found');
      if (!token?.startsWith('xoxb-') || (this.opts.botToken && token !== this.opts.botToken)) return void res.writeHead(403, { 'content-type': 'text/html' }).end('<html>login</html>');
      return void res.writeHead(200, { 'content-type': f.mimetype, 'content-length': String(f.data.length) }).end(f.data);
    }
    const args = parseBody(raw, type);
    if (url.pathname.startsWith('/response/')) {
      this.apiCalls.push({ method: 'response_url', args });
      return void res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    }
    const method = url.pathname.replace(/^\/api\//, '');
    const auth = String(req.headers.authorization ?? '');
    const token = auth.startsWith('Bearer ') ? auth.slice(7) : typeof args.token === 'string' ? args.token : undefined;
    const call: ApiCall = { method, args, token };
    this.apiCalls.push(call);
    const fail = this.failing.get(method);
    if (fail) {
      const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8' };
      if (fail.retryAfter !== undefined) headers['retry-after'] = String(fail.retryAfter);
      res.writeHead(fail.status, headers).end(JSON.stringify({ ok: false, error: fail.status === 429 ? 'ratelimited' : 'service_unavailable' }));
      return;
    }
    const reply = (call.result = this.answer(method, args, token));
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(reply));
  }

  private answer(method: string, a: Record<string, Json>, token: string | undefined): Json {
    if (!token) return { ok: false, error: 'not_authed' };
    if (method === 'apps.connections.open') {
      if (!token.startsWith('xapp-') || (this.opts.appToken && token !== this.opts.appToken)) return { ok: false, error: 'invalid_auth' };
      return { ok: true, url: `ws://127.0.0.1:${this.port}/link/?ticket=${randomUUID()}&app_id=A0QUIJOTE` };
    }
    if (!token.startsWith('xoxb-') || (this.opts.botToken && token !== this.opts.botToken)) return { ok: false, error: 'invalid_auth' };
    switch (method) {
      case 'auth.test':
        return { ok: true, url: 'https://aula.slack.com/', team: 'Aula', user: 'quijote', team_id: this.teamId, user_id: this.botUserId, bot_id: 'B0BOT', is_enterprise_install: false };
      case 'chat.postMessage': {
        if (!a.channel) return { ok: false, error: 'channel_not_found' };
        if (this.blockedChannels.has(a.channel)) return { ok: false, error: 'not_in_channel' };
        const m: FakeMessage = { channel: a.channel, ts: this.nextTs(), text: a.text ?? '', blocks: a.blocks ?? [] };
        this.messages.set(m.ts, m);
        return { ok: true, channel: m.channel, ts: m.ts, message: { type: 'message', user: this.botUserId, ts: m.ts, text: m.text, blocks: m.blocks } };
      }
      case 'chat.update': {
        const m = this.messages.get(a.ts);
        if (!m || m.channel !== a.channel) return { ok: false, error: 'message_not_found' };
        m.text = a.text ?? '';
        m.blocks = a.blocks ?? [];
        return { ok: true, channel: m.channel, ts: m.ts, text: m.text };
      }
      case 'chat.postEphemeral':
        if (!a.channel || !a.user) return { ok: false, error: 'invalid_arguments' };
        if (this.blockedChannels.has(a.channel)) return { ok: false, error: 'not_in_channel' };
        return { ok: true, message_ts: this.nextTs() };
      case 'conversations.open':
        return a.users ? { ok: true, channel: { id: `D${String(a.users).split(',')[0]}` } } : { ok: false, error: 'users_list_not_supplied' };
      case 'usergroups.list':
        return { ok: true, usergroups: this.usergroups.map((g) => ({ id: g.id, team_id: this.teamId, handle: g.handle, name: g.handle })) };
      case 'usergroups.users.list': {
        const g = this.usergroups.find((x) => x.id === a.usergroup);
        return g ? { ok: true, users: g.users } : { ok: false, error: 'no_such_subteam' };
      }
      case 'files.getUploadURLExternal': {
        const id = `F0${++this.seq}`;
        this.files.set(id, { id, filename: a.filename, length: Number(a.length), altText: a.alt_text });
        return { ok: true, upload_url: `http://127.0.0.1:${this.port}/upload/${id}`, file_id: id };
      }
      case 'files.completeUploadExternal': {
        const files = (a.files ?? []) as Array<{ id: string; title?: string }>;
        for (const f of files) {
          const file = this.files.get(f.id);
          if (!file?.data) return { ok: false, error: 'file_not_found' };
          Object.assign(file, { channel: a.channel_id, title: f.title });
        }
        return { ok: true, files: files.map((f) => ({ id: f.id, name: this.files.get(f.id)!.filename, title: f.title })) };
      }
      case 'files.info': {
        const f = this.shared.get(String(a.file));
        if (!f) return { ok: false, error: 'file_not_found' };
        const urlPrivate = this.urlPrivate(f.id, f.name);
        return {
          ok: true,
          file: {
            id: f.id, name: f.name, size: f.data.length, mimetype: f.mimetype, url_private: urlPrivate, url_private_download: `${urlPrivate}?download=1`,
            permalink: `https://aula.slack.com/files/U0PROFE/${f.id}/${encodeURIComponent(f.name)}`, channels: [f.channel], groups: [], ims: [],
          },
        };
      }
      default:
        return { ok: false, error: 'unknown_method' };
    }
  }
}

function parseBody(raw: Buffer, contentType: string): Record<string, Json> {
  const text = raw.toString('utf8');
  if (contentType.includes('application/json')) return text ? JSON.parse(text) : {};
  const out: Record<string, Json> = {};
  for (const [k, v] of new URLSearchParams(text)) {
    out[k] = /^\s*[[{]/.test(v) ? tryJson(v) : v;
  }
  return out;
}

function tryJson(v: string): Json {
  try {
    return JSON.parse(v);
  } catch {
    return v;
  }
}
