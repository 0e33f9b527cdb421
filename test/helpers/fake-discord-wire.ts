/**
 * Wire helpers for the fake Discord (test/helpers/fake-discord.ts): snowflakes, request bodies (JSON and
 * multipart/form-data as @discordjs/rest sends them) and the JSON shapes of users, roles, channels and members.
 */
import type { IncomingMessage } from 'node:http';

const DISCORD_EPOCH = 1420070400000n;
let counter = 0n;

/** Increasing snowflakes whose timestamp is "now", like Discord's. */
export function snowflake(): string {
  counter = (counter + 1n) & 0xfffn;
  return (((BigInt(Date.now()) - DISCORD_EPOCH) << 22n) | (1n << 17n) | counter).toString();
}

export interface RecordedFile {
  field: string; // form field, e.g. "files[0]"
  filename: string;
  contentType: string;
  data: Buffer;
}

export interface ParsedBody {
  json: any; // JSON body, or the multipart payload_json; null when empty
  files: RecordedFile[];
  contentType: string;
}

export async function readBody(req: IncomingMessage): Promise<ParsedBody> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const raw = Buffer.concat(chunks);
  const contentType = req.headers['content-type'] ?? '';
  if (contentType.startsWith('multipart/form-data')) {
    const boundary = /boundary="?([^";]+)"?/.exec(contentType)?.[1];
    if (!boundary) throw new Error('multipart body without boundary');
    const parts = parseMultipart(raw, boundary);
    const payload = parts.find((p) => p.name === 'payload_json');
    const files = parts
      .filter((p) => p.filename !== undefined)
      .map((p) => ({ field: p.name, filename: p.filename!, contentType: p.contentType ?? 'application/octet-stream', data: p.data }));
    return { json: payload ? JSON.parse(payload.data.toString('utf8')) : null, files, contentType };
  }
  return { json: raw.length ? JSON.parse(raw.toString('utf8')) : null, files: [], contentType };
}

interface Part {
  name: string;
  filename?: string;
  contentType?: string;
  data: Buffer;
}

export function parseMultipart(raw: Buffer, boundary: string): Part[] {
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: Part[] = [];
  let pos = raw.indexOf(delimiter);
  while (pos !== -1) {
    const start = pos + delimiter.length;
    if (raw.subarray(start, start + 2).toString() === '--') break; // closing delimiter
    const next = raw.indexOf(delimiter, start);
    if (next === -1) break;
    const part = raw.subarray(start + 2, next - 2); // skip CRLF after delimiter and before the next one
    const headerEnd = part.indexOf('\r\n\r\n');
    const headers = part.subarray(0, headerEnd).toString('utf8');
    const disposition = /content-disposition:([^\r\n]*)/i.exec(headers)?.[1] ?? '';
    parts.push({
      name: /\bname="([^"]*)"/.exec(disposition)?.[1] ?? '',
      filename: /\bfilename="([^"]*)"/.exec(disposition)?.[1],
      contentType: /content-type:\s*([^\r\n]*)/i.exec(headers)?.[1]?.trim(),
      data: Buffer.from(part.subarray(headerEnd + 4)),
    });
    pos = next;
  }
  return parts;
}

export interface FakeUser {
  id: string;
  username: string;
  global_name: string | null;
  discriminator: string;
  avatar: null;
  bot?: boolean;
}

export function userJson(username: string, opts: { id?: string; bot?: boolean; globalName?: string } = {}): FakeUser {
  return {
    id: opts.id ?? snowflake(),
    username,
    global_name: opts.globalName ?? (opts.bot ? null : username[0]!.toUpperCase() + username.slice(1)),
    discriminator: '0',
    avatar: null,
    ...(opts.bot ? { bot: true } : {}),
  };
}

export interface FakeRole {
  id: string;
  name: string;
  permissions: string;
  position: number;
}

export function roleJson(r: FakeRole): Record<string, unknown> {
  return { ...r, color: 0, hoist: false, icon: null, unicode_emoji: null, managed: false, mentionable: false, flags: 0 };
}

export function textChannelJson(id: string, guildId: string, name: string, position: number): Record<string, unknown> {
  return {
    id, type: 0, guild_id: guildId, name, position, permission_overwrites: [], topic: null, nsfw: false,
    last_message_id: null, rate_limit_per_user: 0, parent_id: null,
  };
}

export function memberJson(user: FakeUser, roleIds: string[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    user, roles: roleIds, nick: null, avatar: null, joined_at: new Date(0).toISOString(), premium_since: null,
    deaf: false, mute: false, flags: 0, pending: false, communication_disabled_until: null, ...extra,
  };
}
