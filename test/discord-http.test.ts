/**
 * Discord over the Interactions Endpoint URL: Ed25519-signed POSTs (a key generated here), PING/PONG, refusals,
 * and two front-ends behind a round-robin "load balancer" answering commands and buttons through the same router
 * as the Gateway path, against the fake Discord (which applies each HTTP answer as the interaction's callback).
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Client } from 'discord.js';
import { PNG } from 'pngjs';
import type { ButtonHandler, Command, Services } from '../commands/types.ts';
import { isQuijoteError } from '../core/errors.ts';
import { createInteractionsEndpoint, discordPublicKey, startDiscordHttp, verifyDiscordSignature, type DiscordHttpBot } from '../bot/discord/http.ts';
import { deployCommands } from '../bot/discord/index.ts';
import { buttonsOf, FakeDiscord } from './helpers/fake-discord.ts';

const { publicKey, privateKey } = generateKeyPairSync('ed25519');
const PUBLIC_HEX = (publicKey.export({ format: 'der', type: 'spki' }) as Buffer).subarray(12).toString('hex');
const other = generateKeyPairSync('ed25519');

function signed(body: string, key = privateKey, ts = String(Math.floor(Date.now() / 1000))) {
  return { 'content-type': 'application/json', 'x-signature-ed25519': sign(null, Buffer.from(ts + body), key).toString('hex'), 'x-signature-timestamp': ts };
}

test('Ed25519 verification: the signed body passes; another body, key, timestamp or malformed header does not', () => {
  const key = discordPublicKey(PUBLIC_HEX);
  const body = Buffer.from('{"type":1}');
  const h = signed(body.toString(), privateKey, '1700000000');
  assert.equal(verifyDiscordSignature(key, h['x-signature-ed25519'], '1700000000', body), true);
  assert.equal(verifyDiscordSignature(key, h['x-signature-ed25519'], '1700000001', body), false);
  assert.equal(verifyDiscordSignature(key, h['x-signature-ed25519'], '1700000000', Buffer.from('{"type":2}')), false);
  assert.equal(verifyDiscordSignature(key, signed(body.toString(), other.privateKey, '1700000000')['x-signature-ed25519'], '1700000000', body), false);
  assert.equal(verifyDiscordSignature(key, 'zz', '1700000000', body), false);
  assert.equal(verifyDiscordSignature(key, undefined, undefined, body), false);
  assert.throws(() => discordPublicKey('abc'), (e) => isQuijoteError(e, 'BAD_CONFIG') && /64 hexadecimal/.test(e.message));
});

test('the endpoint answers PING with PONG and refuses unsigned, badly signed, stale, non-POST and oversized requests', async () => {
  const client = new Client({ intents: [] });
  const logs: string[] = [];
  const handler = createInteractionsEndpoint({ publicKey: PUBLIC_HEX, client, log: (l) => logs.push(l), maxBodyBytes: 4096 });
  const { createServer } = await import('node:http');
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
  try {
    const ping = JSON.stringify({ id: '1', type: 1, token: 't', application_id: '2' });
    const r1 = await fetch(url, { method: 'POST', headers: signed(ping), body: ping });
    assert.equal(r1.status, 200);
    assert.deepEqual(await r1.json(), { type: 1 });
    assert.equal((await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: ping })).status, 401);
    assert.equal((await fetch(url, { method: 'POST', headers: signed(ping, other.privateKey), body: ping })).status, 401);
    assert.equal((await fetch(url, { method: 'POST', headers: signed(ping), body: ping.replace('"t"', '"x"') })).status, 401, 'tampered body');
    const stale = String(Math.floor(Date.now() / 1000) - 3600);
    assert.equal((await fetch(url, { method: 'POST', headers: signed(ping, privateKey, stale), body: ping })).status, 401, 'replayed an hour later');
    assert.equal((await fetch(url)).status, 405);
    const big = JSON.stringify({ type: 1, pad: 'x'.repeat(10_000) });
    assert.equal((await fetch(url, { method: 'POST', headers: signed(big), body: big }).catch(() => ({ status: 413 }))).status, 413);
    const auto = JSON.stringify({ id: '3', type: 4, token: 't', application_id: '2' });
    assert.equal((await fetch(url, { method: 'POST', headers: signed(auto), body: auto })).status, 400);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    await client.destroy();
  }
});

function tinyPng(): Buffer {
  const png = new PNG({ width: 2, height: 2 });
  png.data.fill(120);
  return PNG.sync.write(png);
}

const TEACHER_ROLE = 'Profesor';
const served: string[] = [];
const testCommands: Command[] = [
  {
    name: 'eco', description: 'Repite', options: [{ name: 'texto', description: 'Qué', type: 'string', required: true }],
    async run(ctx) {
      await ctx.defer();
      const h = await ctx.reply({ text: `eco: ${ctx.options.texto}` });
      await h.edit({ text: `eco editado: ${ctx.options.texto} (${ctx.user.displayName})` });
    },
  },
  {
    name: 'secreto', description: 'Solo docentes', options: [], teacherOnly: true,
    async run(ctx) { await ctx.reply({ text: `hola, docente ${ctx.user.isTeacher}`, ephemeral: true }); },
  },
  {
    name: 'encuesta', description: 'Imagen y botones', options: [],
    async run(ctx) {
      await ctx.reply({ text: 'Vota', image: { filename: 'curva.png', data: tinyPng(), alt: 'curva' }, buttons: [{ id: 'pick:A', label: 'A', style: 'primary' }] });
    },
  },
];
const testButtons: ButtonHandler[] = [
  { prefix: 'pick', async run(ctx) { await ctx.message.edit({ text: `elegido ${ctx.args[0]} por ${ctx.user.id}`, buttons: [{ id: 'pick:A', label: 'A', style: 'primary' }] }); } },
];

describe('two HTTP front-ends behind a load balancer, one router', () => {
  let fake: FakeDiscord;
  const bots: DiscordHttpBot[] = [];
  const logs: string[] = [];

  before(async () => {
    fake = await FakeDiscord.start({ roles: [{ name: TEACHER_ROLE }] });
    await deployCommands({ token: fake.token, appId: fake.appId, guildId: fake.guildId, commands: testCommands, rest: { api: fake.api } });
    for (let n = 0; n < 2; n++) {
      const services = { marker: `front-end ${n + 1}` } as unknown as Services;
      const commands = testCommands.map((c) => ({ ...c, run: async (ctx: Parameters<Command['run']>[0]) => { served.push(`${n + 1}:${c.name}`); return c.run(ctx); } }));
      bots.push(await startDiscordHttp({
        config: { token: fake.token, publicKey: PUBLIC_HEX, teacherRole: TEACHER_ROLE }, commands, buttons: testButtons, services,
        port: 0, rest: { api: fake.api }, autoDeferMs: 300, log: (l) => logs.push(l),
      }));
    }
    fake.useHttpInteractions(bots.map((b) => b.url), privateKey);
  });

  after(async () => {
    for (const b of bots) await b.stop();
    await fake?.close();
  });

  test('commands are answered in the HTTP response and continue over REST, alternating between front-ends', async () => {
    const its = [fake.slash('eco', { texto: 'uno' }), fake.slash('eco', { texto: 'dos' })];
    for (const [k, it] of its.entries()) {
      const texto = k === 0 ? 'uno' : 'dos';
      await fake.waitFor(() => it.original?.content === `eco editado: ${texto} (${fake.student.global_name ?? fake.student.username})` || it.original?.content.startsWith(`eco editado: ${texto}`), { what: `eco ${texto}` });
      const d = fake.httpDeliveries.find((x) => x.interactionId === it.id);
      assert.equal(d?.status, 200);
      assert.equal(JSON.parse(d!.body).type, 5, 'the deferral was the HTTP answer');
      assert.equal(fake.requestsTo('POST', new RegExp(`/interactions/${it.id}/`)).length, 1, 'one acknowledgement');
    }
    assert.deepEqual(new Set(fake.httpDeliveries.slice(0, 2).map((d) => d.url)), new Set(bots.map((b) => b.url)));
    assert.deepEqual(served.slice(0, 2).sort(), ['1:eco', '2:eco']);
    assert.ok(!logs.some((l) => /failed|not acknowledged/.test(l)), logs.join('\n'));
  });

  test('the teacher role is recognised by name from the guild roles; others are refused', async () => {
    const teacher = fake.slash('secreto', {}, { user: fake.user('profe'), roles: [TEACHER_ROLE] });
    await fake.waitFor(() => teacher.original?.content === 'hola, docente true', { what: 'teacher answer' });
    assert.equal(teacher.original?.ephemeral, true);
    const student = fake.slash('secreto', {}, { user: fake.user('alumna') });
    await fake.waitFor(() => student.callbacks.length && student.original, { what: 'refusal' });
    assert.equal(student.original?.ephemeral, true);
    assert.notEqual(student.original?.content, 'hola, docente true');
    assert.match(student.original?.content ?? '', new RegExp(TEACHER_ROLE));
  });

  test('a reply with a file: deferred in the HTTP answer, the message with its PNG on @original; buttons update it', async () => {
    const it = fake.slash('encuesta');
    const m = await fake.waitFor(() => (it.original?.attachments.length ? it.original : undefined), { what: 'poll with image' });
    assert.equal(m.content, 'Vota');
    assert.equal(m.attachments[0]?.filename, 'curva.png');
    assert.deepEqual(m.attachments[0]?.data, tinyPng());
    const d = fake.httpDeliveries.find((x) => x.interactionId === it.id);
    assert.deepEqual(JSON.parse(d!.body), { type: 5, data: { flags: 0 } });
    const click = fake.click(m, 'pick:A', { user: fake.user('luis') });
    await fake.waitFor(() => fake.message(m.id).content.startsWith('elegido A'), { what: 'clicked message edited' });
    assert.equal(fake.message(m.id).content, `elegido A por ${click.user.id}`);
    assert.equal(buttonsOf(fake.message(m.id)).length, 1);
    assert.equal(fake.httpDeliveries.find((x) => x.interactionId === click.id)?.status, 200);
  });

  test('the HTTP front-end posts and edits outside interactions with the bot token (notices, reattached polls)', async () => {
    const place = { platform: 'discord' as const, teamId: fake.guildId, channelId: fake.channelId };
    const h = await bots[1]!.post(place, { text: 'Aviso: entrenamiento interrumpido' });
    await bots[0]!.edit(fake.channelId, h.id, { text: 'Aviso editado desde el otro frontal' });
    assert.equal(fake.message(h.id).content, 'Aviso editado desde el otro frontal');
  });
});
