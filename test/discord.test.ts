/**
 * The Discord adapter against a fake Discord on loopback: the REAL discord.js client logs in over REST + Gateway,
 * receives INTERACTION_CREATE dispatches and answers through interaction callbacks, webhooks and channel messages.
 * Commands and buttons here are small test-only ones, not the bot's real commands.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { PNG } from 'pngjs';
import { PermissionFlagsBits } from 'discord.js';
import type { ButtonHandler, Command, CommandContext, Services } from '../commands/types.ts';
import type { Engine } from '../core/engine.ts';
import { isQuijoteError, QuijoteError } from '../core/errors.ts';
import { deployCommands, startDiscord, type DiscordBot } from '../bot/discord/index.ts';
import { buttonsOf, FakeDiscord, type Actor, type FakeInteraction } from './helpers/fake-discord.ts';

const TEACHER_ROLE = 'Profesor';
const AUTO_DEFER_MS = 300;

function tinyPng(): Buffer {
  const png = new PNG({ width: 2, height: 2 });
  png.data.fill(200);
  return PNG.sync.write(png);
}
const PNG_BYTES = tinyPng();

/** The adapter only passes services through; the test commands never touch them. */
const services = { engine: {} as Engine, marker: 'servicios-de-prueba' } as unknown as Services;

const seen: CommandContext[] = [];
const testCommands: Command[] = [
  {
    name: 'eco',
    description: 'Repite lo que le digas',
    options: [
      { name: 'texto', description: 'Qué repetir', type: 'string', required: true, min: 1, max: 50 },
      { name: 'veces', description: 'Cuántas veces', type: 'integer', min: 1, max: 10 },
      { name: 'escala', description: 'Un número con decimales', type: 'number', min: 0, max: 1 },
    ],
    async run(ctx) {
      seen.push(ctx);
      await ctx.defer();
      await ctx.defer(); // idempotent
      const times = typeof ctx.options.veces === 'number' ? ctx.options.veces : 1;
      const h = await ctx.reply({ text: Array(times).fill(ctx.options.texto).join(' ') });
      await h.edit({ text: `${ctx.user.displayName} dijo ${ctx.options.texto} (escala ${ctx.options.escala})` });
    },
  },
  {
    name: 'cartel',
    description: 'Publica un mensaje en el canal y lo edita',
    options: [],
    async run(ctx) {
      await ctx.reply({ text: 'Voy.', ephemeral: true });
      const m = await ctx.post({ text: 'Progreso: 0 %', mentionUserId: ctx.user.id });
      await m.edit({ text: 'Progreso: 50 %' });
      cartelHandles.push(m);
    },
  },
  {
    name: 'imagen',
    description: 'Responde con una imagen y botones',
    options: [],
    async run(ctx) {
      await ctx.reply({
        text: '**Curva** de pérdida',
        image: { filename: 'perdida.png', data: PNG_BYTES, alt: 'Curva de pérdida' },
        buttons: ['A', 'B', 'C', 'D', 'E', 'F', 'G'].map((l, i) => ({ id: `voto:7:${l}`, label: `Cuento ${l}`, style: i === 0 ? 'success' : 'secondary' })),
      });
    },
  },
  {
    name: 'encuesta',
    description: 'Publica una encuesta con dos botones',
    options: [],
    async run(ctx) {
      await ctx.post({ text: 'Votos: 0', buttons: [{ id: 'voto:1:A', label: 'A' }, { id: 'ojo:1', label: 'Ver', style: 'danger' }] });
      await ctx.reply({ text: 'Encuesta publicada.', ephemeral: true });
    },
  },
  { name: 'profe', description: 'Solo para el profesorado', options: [], teacherOnly: true, run: async (ctx) => void (await ctx.reply({ text: `Hola, profe ${ctx.user.displayName}` })) },
  { name: 'falla', description: 'Lanza un error conocido', options: [], run: async () => { throw new QuijoteError('BAD_LINES', 'Pide entre 1 y 500 líneas.'); } },
  { name: 'revienta', description: 'Lanza un error inesperado', options: [], run: async () => { throw new Error('detalle interno secreto'); } },
  {
    name: 'lento',
    description: 'Tarda más que el diferido automático',
    options: [{ name: 'falla', description: 'Si falla al final', type: 'integer' }],
    async run(ctx) {
      await sleep(AUTO_DEFER_MS * 2);
      if (ctx.options.falla) throw new QuijoteError('BUSY', 'El modelo está ocupado; vuelve a intentarlo en un minuto.');
      await ctx.reply({ text: 'Por fin.' });
    },
  },
  {
    name: 'dos',
    description: 'Responde dos veces',
    options: [],
    async run(ctx) {
      await ctx.reply({ text: 'uno' });
      const second = await ctx.reply({ text: 'dos', ephemeral: true });
      await second.edit({ text: 'dos (editado)' });
    },
  },
  { name: 'callado', description: 'No responde nada', options: [], run: async () => {} },
];
const cartelHandles: { id: string; edit(m: { text: string }): Promise<void> }[] = [];

const clicks: { customId: string; args: string[]; user: string; place: string }[] = [];
let votes = 0;
const testButtons: ButtonHandler[] = [
  {
    prefix: 'voto',
    async run(ctx) {
      clicks.push({ customId: ctx.customId, args: ctx.args, user: ctx.user.displayName, place: ctx.place.channelId });
      votes += 1;
      await ctx.message.edit({ text: `Votos: ${votes}`, buttons: [{ id: 'voto:1:A', label: 'A' }, { id: 'ojo:1', label: 'Ver', style: 'danger' }] });
      await ctx.message.edit({ text: `Votos: ${votes} (recontado)`, buttons: [{ id: 'voto:1:A', label: 'A' }, { id: 'ojo:1', label: 'Ver', style: 'danger' }] });
      await ctx.reply({ text: 'Voto registrado.', ephemeral: true });
    },
  },
  {
    prefix: 'ojo',
    async run(ctx) {
      await ctx.reply({ text: 'Solo tú ves esto.', ephemeral: true });
      await ctx.message.edit({ text: 'Encuesta cerrada.' });
    },
  },
];

/** Requests that used this interaction's token, in order: "METHOD path-after-token". */
function tokenRequests(fake: FakeDiscord, it: FakeInteraction): { method: string; path: string; body: any; status: number }[] {
  return fake.requests.filter((r) => r.path.includes(it.token));
}

describe('Discord adapter against a fake Discord', () => {
  let fake: FakeDiscord;
  let bot: DiscordBot;
  const logs: string[] = [];

  before(async () => {
    fake = await FakeDiscord.start({
      roles: [{ name: TEACHER_ROLE }, { name: 'Alumnado' }, { name: 'Moderación', permissions: PermissionFlagsBits.ManageGuild }],
    });
    bot = await startDiscord({
      config: { token: fake.token, appId: fake.appId, guildId: fake.guildId, teacherRole: TEACHER_ROLE },
      commands: testCommands,
      buttons: testButtons,
      services,
      rest: { api: fake.api },
      autoDeferMs: AUTO_DEFER_MS,
      log: (l) => logs.push(l),
    });
  });
  after(async () => {
    await bot?.stop();
    await fake?.close();
  });

  test('logs in over the gateway with JSON encoding, no compression, API v10 and the Guilds intent', () => {
    const conn = fake.gateway.connections.at(-1)!;
    assert.equal(conn.query.get('v'), '10');
    assert.equal(conn.query.get('encoding'), 'json');
    assert.equal(conn.query.has('compress'), false);
    assert.equal(conn.identify.token, fake.token);
    assert.equal(conn.identify.intents, 1);
    assert.equal(bot.client.user.id, fake.appId);
    assert.ok(bot.client.guilds.cache.get(fake.guildId)?.roles.cache.some((r) => r.name === TEACHER_ROLE));
    assert.ok(fake.requests.some((r) => r.path === '/gateway/bot' && r.auth === `Bot ${fake.token}`));
    assert.ok(logs.some((l) => l.includes('connected as quijote-bot')));
  });

  test('deploy registers guild and global commands with the right JSON', async () => {
    const guild = await deployCommands({ token: fake.token, appId: fake.appId, guildId: fake.guildId, commands: testCommands, rest: { api: fake.api } });
    assert.equal(guild.route, `/applications/${fake.appId}/guilds/${fake.guildId}/commands`);
    const put = fake.requestsTo('PUT', /\/commands$/).at(-1)!;
    assert.equal(put.path, guild.route);
    assert.equal(put.auth, `Bot ${fake.token}`);
    const eco = put.body.find((c: any) => c.name === 'eco');
    assert.deepEqual(eco, {
      type: 1,
      name: 'eco',
      description: 'Repite lo que le digas',
      default_member_permissions: null,
      contexts: [0],
      options: [
        { type: 3, name: 'texto', description: 'Qué repetir', required: true, min_length: 1, max_length: 50 },
        { type: 4, name: 'veces', description: 'Cuántas veces', required: false, min_value: 1, max_value: 10 },
        { type: 10, name: 'escala', description: 'Un número con decimales', required: false, min_value: 0, max_value: 1 },
      ],
    });
    // Teacher-only commands are registered visible (a TEACHER_ROLE-only teacher must see them); the handler checks.
    assert.equal(put.body.find((c: any) => c.name === 'profe').default_member_permissions, null);
    assert.deepEqual(fake.commands(fake.guildId).map((c) => c.name), testCommands.map((c) => c.name));

    const global = await deployCommands({ token: fake.token, appId: fake.appId, global: true, commands: testCommands.slice(0, 2), rest: { api: fake.api } });
    assert.equal(global.scope, 'global');
    assert.equal(fake.requestsTo('PUT', /\/commands$/).at(-1)!.path, `/applications/${fake.appId}/commands`);
    assert.deepEqual(fake.commands().map((c) => c.name), ['eco', 'cartel']);

    await assert.rejects(deployCommands({ token: fake.token, appId: fake.appId, commands: testCommands, rest: { api: fake.api } }), (e) => isQuijoteError(e, 'BAD_CONFIG') && /DISCORD_GUILD_ID/.test(e.message));
    await assert.rejects(deployCommands({ token: 'wrong', appId: fake.appId, global: true, commands: testCommands, rest: { api: fake.api } }), (e) => isQuijoteError(e, 'BAD_CONFIG') && /HTTP 401/.test(e.message));
    const bad: Command = { name: 'Mayúsculas', description: 'x', options: [], run: async () => {} };
    await assert.rejects(deployCommands({ token: fake.token, appId: fake.appId, global: true, commands: [bad], rest: { api: fake.api } }), (e) => isQuijoteError(e, 'BAD_CONFIG'));
  });

  test('a slash command is deferred (type 5), then @original is edited; options, caller and place arrive', async () => {
    const ana = fake.user('ana');
    const it = fake.slash('eco', { texto: 'hola', veces: 3, escala: 0.25 }, { user: ana, nick: 'Ana G.' });
    const done = await fake.waitFor(() => it.original?.content.startsWith('Ana G. dijo') && it.original, { what: '/eco edited' });
    assert.equal(done.content, 'Ana G. dijo hola (escala 0.25)');
    const reqs = tokenRequests(fake, it);
    assert.deepEqual(reqs.map((r) => `${r.method} ${r.path.replace(it.token, 'TOKEN')}`), [
      `POST /interactions/${it.id}/TOKEN/callback`,
      `PATCH /webhooks/${fake.appId}/TOKEN/messages/@original`,
      `PATCH /webhooks/${fake.appId}/TOKEN/messages/@original`,
    ]);
    assert.equal(reqs[0]!.body.type, 5);
    assert.equal(reqs[1]!.body.content, 'hola hola hola');
    assert.equal(done.ephemeral, false);
    const ctx = seen.at(-1)!;
    assert.deepEqual(ctx.options, { texto: 'hola', veces: 3, escala: 0.25 });
    assert.deepEqual(ctx.place, { platform: 'discord', teamId: fake.guildId, channelId: fake.channelId });
    assert.deepEqual(ctx.user, { id: ana.id, displayName: 'Ana G.', isTeacher: false });
    assert.equal(ctx.services.marker, 'servicios-de-prueba');
  });

  test('post() sends a channel message with the bot token; its edit PATCHes it, even after the token expired', async () => {
    const before = cartelHandles.length;
    const it = fake.slash('cartel');
    await fake.waitFor(() => cartelHandles.length > before, { what: '/cartel posted' });
    const posts = fake.requestsTo('POST', new RegExp(`^/channels/${fake.channelId}/messages$`));
    const post = posts.at(-1)!;
    assert.equal(post.auth, `Bot ${fake.token}`);
    assert.equal(post.body.content, `<@${fake.student.id}> Progreso: 0 %`);
    assert.deepEqual(post.body.allowed_mentions, { parse: [], users: [fake.student.id] });
    const handle = cartelHandles.at(-1)!;
    const msg = fake.message(handle.id);
    assert.equal(msg.content, 'Progreso: 50 %'); // an edit replaces the whole message: no mention unless given again
    assert.equal(msg.interactionId, undefined);
    assert.equal(it.original?.ephemeral, true);
    assert.equal(it.original?.content, 'Voy.');

    fake.expire(it); // interaction tokens die after 15 minutes; channel messages do not
    await handle.edit({ text: 'Progreso: 100 %' });
    assert.equal(fake.message(handle.id).content, 'Progreso: 100 %');
    assert.equal(fake.requestsTo('PATCH', new RegExp(`^/channels/${fake.channelId}/messages/${handle.id}$`)).length, 2);
  });

  test('an image is uploaded as multipart with a PNG; buttons arrive as action rows of at most 5', async () => {
    const it = fake.slash('imagen');
    const msg = await fake.waitFor(() => it.original, { what: '/imagen reply' });
    const cb = tokenRequests(fake, it)[0]!;
    assert.equal(cb.body.type, 4);
    const req = fake.requests.find((r) => r.path.includes(it.token))!;
    assert.equal(req.files.length, 1);
    const file = req.files[0]!;
    assert.equal(file.field, 'files[0]');
    assert.equal(file.filename, 'perdida.png');
    assert.equal(file.contentType, 'image/png');
    assert.deepEqual(file.data, PNG_BYTES);
    assert.deepEqual([...file.data.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    assert.equal(msg.attachments[0]!.description, 'Curva de pérdida');
    assert.equal(msg.content, '**Curva** de pérdida');
    assert.deepEqual(msg.components.map((row: any) => row.components.length), [5, 2]);
    assert.deepEqual(buttonsOf(msg).map((b) => [b.custom_id, b.label, b.style]), [
      ['voto:7:A', 'Cuento A', 3], ['voto:7:B', 'Cuento B', 2], ['voto:7:C', 'Cuento C', 2], ['voto:7:D', 'Cuento D', 2],
      ['voto:7:E', 'Cuento E', 2], ['voto:7:F', 'Cuento F', 2], ['voto:7:G', 'Cuento G', 2],
    ]);
  });

  test('a button click is routed by prefix and updates the clicked message (type 7, then channel edits)', async () => {
    const it = fake.slash('encuesta');
    await fake.waitFor(() => it.original, { what: '/encuesta reply' });
    const poll = fake.messages().filter((m) => m.content === 'Votos: 0').at(-1)!;
    const luis = fake.user('luis');
    const click = fake.click(poll, 'voto:1:A', { user: luis });
    await fake.waitFor(() => click.followups[0], { what: 'vote confirmation' });
    assert.deepEqual(clicks.at(-1), { customId: 'voto:1:A', args: ['1', 'A'], user: 'Luis', place: fake.channelId });
    const reqs = tokenRequests(fake, click);
    assert.equal(reqs[0]!.body.type, 7);
    assert.equal(reqs[0]!.body.data.content, `Votos: ${votes}`);
    assert.equal(fake.message(poll.id).content, `Votos: ${votes} (recontado)`);
    assert.deepEqual(buttonsOf(fake.message(poll.id)).map((b) => b.custom_id), ['voto:1:A', 'ojo:1']);
    assert.equal(click.followups[0]!.ephemeral, true);
    assert.equal(click.followups[0]!.content, 'Voto registrado.');

    // Replying first (type 4) means the clicked message is edited through the channel afterwards.
    const look = fake.click(poll, 'ojo:1');
    await fake.waitFor(() => fake.message(poll.id).content === 'Encuesta cerrada.', { what: 'poll closed' });
    assert.equal(look.callbacks[0]!.type, 4);
    assert.equal(look.original!.ephemeral, true);
    assert.deepEqual(fake.message(poll.id).components, []);
  });

  test('teacher-only commands: students are refused; a teacher by role name, Manage Guild or Administrator passes', async () => {
    const refused = fake.slash('profe', {}, { user: fake.user('eva'), roles: ['Alumnado'] });
    await fake.waitFor(() => refused.original, { what: 'refusal' });
    assert.equal(refused.callbacks[0]!.type, 4);
    assert.equal(refused.original!.ephemeral, true);
    assert.match(refused.original!.content, /Solo el profesorado/);
    assert.match(refused.original!.content, /Profesor/);

    const teachers: [string, Actor][] = [
      ['Marta', { user: fake.user('marta'), roles: [TEACHER_ROLE] }],
      ['Pedro', { user: fake.user('pedro'), roles: ['Moderación'] }],
      ['Rosa', { user: fake.user('rosa'), permissions: PermissionFlagsBits.Administrator }],
    ];
    for (const [who, as] of teachers) {
      const it = fake.slash('profe', {}, as);
      const m = await fake.waitFor(() => it.original, { what: `/profe by ${who}` });
      assert.equal(m.content, `Hola, profe ${who}`);
      assert.equal(m.ephemeral, false);
    }
  });

  test('a QuijoteError becomes an ephemeral message; other errors a generic apology, logged; the client survives', async () => {
    const known = fake.slash('falla');
    await fake.waitFor(() => known.original, { what: 'known error' });
    assert.equal(known.callbacks[0]!.type, 4);
    assert.equal(known.callbacks[0]!.data.flags, 64);
    assert.equal(known.original!.content, 'Pide entre 1 y 500 líneas.');

    const unknown = fake.slash('revienta');
    await fake.waitFor(() => unknown.original, { what: 'generic error' });
    assert.equal(unknown.original!.ephemeral, true);
    assert.match(unknown.original!.content, /^Lo siento/);
    assert.doesNotMatch(unknown.original!.content, /secreto/);
    assert.ok(logs.some((l) => l.includes('/revienta') && l.includes('detalle interno secreto')));

    const still = fake.slash('profe', {}, { roles: [TEACHER_ROLE] });
    await fake.waitFor(() => still.original, { what: 'a command after the errors' });
  });

  test('a slow command is deferred automatically; a late error replaces the public "thinking" with an ephemeral follow-up', async () => {
    const slow = fake.slash('lento');
    await fake.waitFor(() => slow.original?.content === 'Por fin.', { what: 'slow reply', timeoutMs: 3000 });
    const [cb, edit] = tokenRequests(fake, slow);
    assert.equal(cb!.body.type, 5);
    assert.equal(edit!.method, 'PATCH');

    const late = fake.slash('lento', { falla: 1 });
    const f = await fake.waitFor(() => late.followups[0], { what: 'late error', timeoutMs: 3000 });
    assert.deepEqual(tokenRequests(fake, late).map((r) => r.method), ['POST', 'DELETE', 'POST']);
    assert.equal(late.original!.deleted, true);
    assert.equal(f.ephemeral, true);
    assert.equal(f.content, 'El modelo está ocupado; vuelve a intentarlo en un minuto.');
  });

  test('a second reply is a follow-up whose handle edits that follow-up; silence gets an ephemeral "Hecho."', async () => {
    const it = fake.slash('dos');
    const second = await fake.waitFor(() => (it.followups[0]?.edits ? it.followups[0] : undefined), { what: 'edited follow-up' });
    assert.equal(it.original!.content, 'uno');
    assert.equal(second.content, 'dos (editado)');
    assert.equal(second.ephemeral, true);
    assert.ok(tokenRequests(fake, it).some((r) => r.method === 'PATCH' && r.path.endsWith(`/messages/${second.id}`)));

    const quiet = fake.slash('callado');
    const m = await fake.waitFor(() => quiet.original, { what: 'silent command ack' });
    assert.equal(m.content, 'Hecho.');
    assert.equal(m.ephemeral, true);
  });

  test('unknown commands and buttons get an ephemeral Spanish message', async () => {
    const it = fake.slash('inexistente');
    const m = await fake.waitFor(() => it.original, { what: 'unknown command' });
    assert.equal(m.ephemeral, true);
    assert.match(m.content, /No conozco el comando `\/inexistente`/);

    const stale = await fake.waitFor(() => fake.messages().find((x) => buttonsOf(x).some((b) => b.custom_id === 'voto:7:A')));
    stale.components = [{ type: 1, components: [{ type: 2, custom_id: 'viejo:1', label: 'Viejo', style: 1 }] }];
    const click = fake.click(stale, 'viejo:1');
    const r = await fake.waitFor(() => click.original, { what: 'unknown button' });
    assert.equal(r.ephemeral, true);
    assert.match(r.content, /ya no está activo/);
    assert.equal(logs.filter((l) => l.includes('failed')).length, 1); // only /revienta was logged as a failure
  });
});

test('the gateway heartbeat is acknowledged, and the client stops cleanly', async () => {
  const fake = await FakeDiscord.start({ heartbeatIntervalMs: 40 });
  const bot = await startDiscord({
    config: { token: fake.token, appId: fake.appId, teacherRole: TEACHER_ROLE },
    commands: [],
    buttons: [],
    services,
    rest: { api: fake.api },
    log: () => {},
  });
  try {
    const conn = fake.gateway.connections[0]!;
    await fake.waitFor(() => conn.heartbeats >= 3, { what: 'three heartbeats' });
    assert.equal(conn.acks, conn.heartbeats);
    assert.equal(fake.gateway.connections.length, 1); // no zombie-connection reconnects
  } finally {
    await bot.stop();
    await fake.waitFor(() => fake.gateway.connections[0]!.closed, { what: 'gateway closed' });
    await fake.close();
  }
});

test('a rejected token fails startDiscord with a BAD_CONFIG QuijoteError', async () => {
  const fake = await FakeDiscord.start();
  try {
    await assert.rejects(
      startDiscord({ config: { token: 'mal', teacherRole: TEACHER_ROLE }, commands: [], buttons: [], services, rest: { api: fake.api }, log: () => {} }),
      (e) => isQuijoteError(e, 'BAD_CONFIG') && /token/.test(e.message),
    );
  } finally {
    await fake.close();
  }
});
