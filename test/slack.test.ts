/**
 * The Slack adapter against the real Bolt app and a fake Slack on loopback (test/helpers/fake-slack.ts):
 * HTTP mode with genuinely signed requests, Socket Mode envelopes and acks, teacher checks, option parsing,
 * error handling and PNG uploads. The commands here are small test-only ones, not the real bot commands.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { webApi } from '@slack/bolt';
import { PNG } from 'pngjs';
import { QuijoteError, isQuijoteError } from '../core/errors.ts';
import type { ButtonContext, ButtonHandler, Command, CommandContext, Services } from '../commands/types.ts';
import type { Engine } from '../core/engine.ts';
import { startSlack, type SlackBot, type SlackConfig } from '../bot/slack/index.ts';
import { toMrkdwn, toSlackMessage } from '../bot/slack/blocks.ts';
import { buildManifest, MANIFEST_FILES, slackCommandName } from '../bot/slack/manifest.ts';
import { parseOptions, tokenize } from '../bot/slack/options.ts';
import { TeacherCheck } from '../bot/slack/teachers.ts';
import { FakeSlack, type ApiCall } from './helpers/fake-slack.ts';

const SECRET = 'shhh-signing-secret';
const TEACHER = 'U0PROFE';
const GROUP_MEMBER = 'U0GRUPO';
const STUDENT = 'U0ALUMNA';

function tinyPng(): Buffer {
  const png = new PNG({ width: 3, height: 2 });
  for (let i = 0; i < png.data.length; i++) png.data[i] = (i * 37) % 256;
  return PNG.sync.write(png);
}
const PNG_BYTES = tinyPng();

/** Test-only commands that record what the adapter hands them. */
function fixtures() {
  const ran: CommandContext[] = [];
  const clicked: ButtonContext[] = [];
  const commands: Command[] = [
    {
      name: 'train', description: 'Entrena (prueba)', teacherOnly: true,
      options: [
        { name: 'lines', description: 'líneas', type: 'integer', required: true, min: 1, max: 5000 },
        { name: 'epochs', description: 'épocas', type: 'integer', min: 1, max: 10 },
        { name: 'lr', description: 'tasa', type: 'number', min: 0, max: 1 },
      ],
      run: async (ctx) => {
        ran.push(ctx);
        await ctx.defer();
        await ctx.reply({
          text: `**Entrenando** con ${ctx.options.lines} líneas, _${ctx.options.epochs ?? 1}_ épocas`,
          mentionUserId: ctx.user.id,
          buttons: [
            { id: 'vote:7:A', label: 'Historia A', style: 'success' },
            { id: 'vote:7:B', label: 'Historia B' },
            { id: 'stop:7', label: 'Parar', style: 'danger' },
          ],
        });
      },
    },
    {
      name: 'story', description: 'Historia (prueba)',
      options: [{ name: 'prompt', description: 'comienzo', type: 'string' }],
      run: async (ctx) => {
        ran.push(ctx);
        await ctx.reply({ text: `Empieza: ${ctx.options.prompt ?? '(nada)'}`, ephemeral: true });
      },
    },
    {
      name: 'chart', description: 'Gráfica (prueba)', options: [],
      run: async (ctx) => {
        ran.push(ctx);
        await ctx.post({ text: 'Curva de pérdida', image: { filename: 'curva.png', data: PNG_BYTES, alt: 'Curva de pérdida de prueba' } });
      },
    },
    { name: 'busy', description: 'Ocupado', options: [], run: async () => { throw new QuijoteError('BUSY', 'Ya hay un entrenamiento en marcha. Espera a que termine.'); } },
    { name: 'boom', description: 'Fallo', options: [], run: async () => { throw new Error('kaput interno'); } },
    {
      name: 'status', description: 'Estado (prueba)', options: [],
      run: async (ctx) => { ran.push(ctx); await ctx.post({ text: 'Todo en orden' }); },
    },
  ];
  const buttons: ButtonHandler[] = [{
    prefix: 'vote',
    run: async (ctx) => {
      clicked.push(ctx);
      await ctx.message.edit({ text: `Votos: Historia ${ctx.args[1]} 1`, buttons: [{ id: 'vote:7:A', label: 'Historia A' }] });
      await ctx.reply({ text: `Tu voto: Historia ${ctx.args[1]}`, ephemeral: true });
    },
  }];
  return { ran, clicked, commands, buttons };
}

// The adapter only passes services through to commands; these tests check it hands over this very object.
const services = { engine: {} as Engine } as unknown as Services;

interface Harness {
  fake: FakeSlack;
  bot: SlackBot;
  logs: string[];
  ran: CommandContext[];
  clicked: ButtonContext[];
}

async function startHarness(mode: 'socket' | 'http', extra: Partial<SlackConfig> = {}): Promise<Harness> {
  const fake = await FakeSlack.start({
    botToken: 'xoxb-test',
    usergroups: [{ id: 'S0PROFES', handle: 'profes', users: [GROUP_MEMBER] }],
  });
  const { ran, clicked, commands, buttons } = fixtures();
  const logs: string[] = [];
  const bot = await startSlack({
    config: {
      botToken: 'xoxb-test', appToken: 'xapp-test', signingSecret: SECRET, mode, port: 0,
      teachers: [TEACHER], teacherGroup: 'profes', ...extra,
    },
    commands, buttons, services, slackApiUrl: fake.apiUrl, log: (l) => logs.push(l),
  });
  if (mode === 'http') fake.useHttp(`http://127.0.0.1:${bot.port}/slack/events`, SECRET);
  return { fake, bot, logs, ran, clicked };
}

async function stopHarness(h: Harness | undefined): Promise<void> {
  if (!h) return;
  await h.bot.stop();
  await h.fake.close();
}

const sectionText = (c: ApiCall) => c.args.blocks.filter((b: { type: string }) => b.type === 'section').map((b: { text: { text: string } }) => b.text.text).join('\n');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('option text parsing', () => {
  const specs: Command['options'] = [
    { name: 'lines', description: '', type: 'integer', required: true, min: 1, max: 5000 },
    { name: 'epochs', description: '', type: 'integer', min: 1, max: 10 },
    { name: 'lr', description: '', type: 'number', min: 0, max: 1 },
  ];
  const bad = (text: string, pattern: RegExp) =>
    assert.throws(() => parseOptions('train', text, specs), (e: unknown) => isQuijoteError(e, 'BAD_ARGUMENT') && pattern.test(e.message));

  test('name:value pairs, bare first value, name=value and Spanish decimal commas', () => {
    assert.deepEqual(parseOptions('train', 'lines:500 epochs:3', specs), { lines: 500, epochs: 3, lr: undefined });
    assert.deepEqual(parseOptions('train', '500', specs), { lines: 500, epochs: undefined, lr: undefined });
    assert.deepEqual(parseOptions('train', ' 20  EPOCHS=2 lr:0,0005 ', specs), { lines: 20, epochs: 2, lr: 0.0005 });
    assert.deepEqual(parseOptions('train', 'lr:.5 lines:7', specs), { lines: 7, epochs: undefined, lr: 0.5 });
    assert.deepEqual(parseOptions('train', '10 2 0.1', specs), { lines: 10, epochs: 2, lr: 0.1 });
  });

  test('validation errors are Spanish and name the option', () => {
    bad('lines:abc', /«lines» debe ser un número entero; has escrito «abc»/);
    bad('lines:2.5', /«lines» debe ser un número entero/);
    bad('lines:9000', /«lines» debe ser como máximo 5000; has escrito 9000/);
    bad('lines:0', /«lines» debe ser como mínimo 1/);
    bad('lr:mucho lines:3', /«lr» debe ser un número/);
    bad('epochs:3', /Falta la opción «lines»\. Uso: \/train lines:<número> \[epochs:<número>\] \[lr:<número>\]/);
    bad('', /Falta la opción «lines»/);
    bad('lines:3 lines:4', /«lines» dos veces/);
    bad('line:500', /No conozco la opción «line»\. Opciones válidas: lines, epochs, lr/);
    bad('1 2 0.1 99', /No sé a qué opción corresponde «99»/);
    assert.throws(() => parseOptions('train', 'lines:0', specs, 'en'), /“lines” must be at least 1; you wrote 0/);
  });

  test('string options: quotes (straight, curly, guillemets) and unquoted rest-of-line', () => {
    const s: Command['options'] = [
      { name: 'prompt', description: '', type: 'string', required: true },
      { name: 'seed', description: '', type: 'integer' },
    ];
    assert.deepEqual(parseOptions('story', 'prompt:"En un lugar: la Mancha" seed:4', s), { prompt: 'En un lugar: la Mancha', seed: 4 });
    assert.deepEqual(parseOptions('story', '“Érase una vez” seed:1', s), { prompt: 'Érase una vez', seed: 1 });
    assert.deepEqual(parseOptions('story', 'En un lugar de la Mancha', s), { prompt: 'En un lugar de la Mancha', seed: undefined });
    assert.deepEqual(parseOptions('story', '«Capítulo: uno»', s), { prompt: 'Capítulo: uno', seed: undefined });
    assert.deepEqual(parseOptions('story', "prompt:'dijo: hola'", s), { prompt: 'dijo: hola', seed: undefined });
    assert.throws(() => parseOptions('story', 'prompt:"sin cerrar', s), /comillas sin cerrar/);
    assert.deepEqual(tokenize('a "b c"d e'), [{ text: 'a', quoted: false }, { text: 'b cd', quoted: true }, { text: 'e', quoted: false }]);
  });
});

describe('Block Kit rendering', () => {
  test('Markdown subset → mrkdwn, with Slack escaping and code spans untouched', () => {
    assert.equal(toMrkdwn('**Hola** _mundo_ *cursiva* `**x** <y>` a<b & c ~~no~~'), '*Hola* _mundo_ _cursiva_ `**x** &lt;y&gt;` a&lt;b &amp; c ~no~');
    assert.equal(toMrkdwn('[Quijote](https://example.org/q)'), '<https://example.org/q|Quijote>');
    assert.equal(toMrkdwn('2*3*4 = 24'), '2*3*4 = 24');
  });

  test('mention, long text split into sections of at most 3000 chars, buttons in actions blocks', () => {
    const long = Array.from({ length: 400 }, (_, i) => `línea ${i} del Quijote`).join('\n');
    const m = toSlackMessage({ text: long, mentionUserId: 'U9', buttons: Array.from({ length: 30 }, (_, i) => ({ id: `b:${i}`, label: `B${i}`, style: 'secondary' as const })) });
    const sections = m.blocks.filter((b) => b.type === 'section') as Array<{ text: { text: string } }>;
    assert.ok(sections.length >= 3);
    for (const s of sections) assert.ok(s.text.text.length <= 3000);
    assert.equal(sections.map((s) => s.text.text).join('\n'), `<@U9> ${long}`);
    const actions = m.blocks.filter((b) => b.type === 'actions') as Array<{ elements: Array<{ action_id: string; style?: string }> }>;
    assert.deepEqual(actions.map((a) => a.elements.length), [25, 5]);
    assert.equal(actions[1].elements[4].action_id, 'b:29');
    assert.equal(actions[0].elements[0].style, undefined);
  });

  test('Slack built-in command names get a prefix; manifest lists commands, scopes and Socket Mode', () => {
    assert.equal(slackCommandName('status'), 'quijote-status');
    assert.equal(slackCommandName('train'), 'train');
    const { commands } = fixtures();
    const m = buildManifest(commands) as { features: { slash_commands: Array<{ command: string; usage_hint?: string }> }; oauth_config: { scopes: { bot: string[] } }; settings: Record<string, unknown> };
    assert.deepEqual(m.features.slash_commands.map((c) => c.command), ['/train', '/story', '/chart', '/busy', '/boom', '/quijote-status']);
    assert.equal(m.features.slash_commands[0].usage_hint, 'lines:<número> [epochs:<número>] [lr:<número>]');
    for (const scope of ['chat:write', 'commands', 'files:write', 'usergroups:read']) assert.ok(m.oauth_config.scopes.bot.includes(scope));
    assert.equal(m.settings.socket_mode_enabled, true);
    assert.deepEqual(m.settings.interactivity, { is_enabled: true });
  });

  test('bot/slack/manifest.json (es) and manifest.en.json (en) match the real commands in their language', async () => {
    const { localizedCommands } = await import('../commands/index.ts');
    for (const [locale, path] of Object.entries(MANIFEST_FILES) as Array<['es' | 'en', string]>) {
      const file = new URL(`../${path}`, import.meta.url);
      assert.ok(existsSync(file), `${path} is missing (npm run slack-manifests)`);
      const onDisk = JSON.parse(readFileSync(file, 'utf8'));
      assert.equal(onDisk.settings.socket_mode_enabled, true);
      assert.deepEqual(onDisk, buildManifest(localizedCommands(locale), locale), `${path} is out of date; regenerate it with: npm run slack-manifests`);
    }
    const en = JSON.parse(readFileSync(new URL('../bot/slack/manifest.en.json', import.meta.url), 'utf8'));
    const train = en.features.slash_commands.find((c: { command: string }) => c.command === '/train');
    assert.match(train.description, /^Fine-tune/);
    assert.equal(train.usage_hint, '[lines:<number>] [epochs:<number>] [lr:<number>] [repetir:"<text>"] [texto:"<text>"] [mezcla:<number>]'); // no archivo: Slack commands carry no files
    assert.match(en.display_information.description, /Don Quixote/);
  });
});

describe('HTTP mode with signed requests', () => {
  let h: Harness;
  before(async () => { h = await startHarness('http'); });
  after(() => stopHarness(h));

  test('binds the requested port (0 → a free one) and checked the bot token with auth.test', () => {
    assert.ok(h.bot.port && h.bot.port > 0);
    assert.equal(h.fake.calls('auth.test')[0]?.token, 'xoxb-test');
  });

  test('a valid slash command is acked with 200 and posts Block Kit with buttons', async () => {
    const res = await h.fake.slash('/train', 'lines:500 epochs:3', { userId: TEACHER, userName: 'profe' });
    assert.equal(res.status, 200);
    const post = await h.fake.waitForCall('chat.postMessage');
    assert.equal(post.token, 'xoxb-test');
    assert.equal(post.args.channel, 'C0CLASE');
    assert.equal(sectionText(post), `<@${TEACHER}> *Entrenando* con 500 líneas, _3_ épocas`);
    assert.deepEqual(h.fake.buttons(post.result.ts).map((b) => [b.action_id, b.value, b.style, b.text.text]), [
      ['vote:7:A', 'vote:7:A', 'primary', 'Historia A'],
      ['vote:7:B', 'vote:7:B', undefined, 'Historia B'],
      ['stop:7', 'stop:7', 'danger', 'Parar'],
    ]);
    const ctx = h.ran.at(-1)!;
    assert.equal(ctx.commandName, 'train');
    assert.deepEqual(ctx.options, { lines: 500, epochs: 3, lr: undefined });
    assert.deepEqual(ctx.place, { platform: 'slack', teamId: 'T0AULA', channelId: 'C0CLASE' });
    assert.deepEqual(ctx.user, { id: TEACHER, displayName: 'profe', isTeacher: true });
    assert.equal(ctx.services, services);
  });

  test('a bad signature gets 401 and runs nothing', async () => {
    const before = h.ran.length;
    const body = new URLSearchParams({ command: '/train', text: '5', user_id: TEACHER, channel_id: 'C0CLASE', team_id: 'T0AULA' }).toString();
    assert.equal((await h.fake.postSigned(body, { secret: 'wrong-secret' })).status, 401);
    assert.equal((await h.fake.postSigned(body, { signature: 'v0=deadbeef' })).status, 401);
    await sleep(150);
    assert.equal(h.ran.length, before);
  });

  test('a stale timestamp (> 5 minutes) gets 401 even when correctly signed', async () => {
    const before = h.ran.length;
    const body = new URLSearchParams({ command: '/train', text: '5', user_id: TEACHER, channel_id: 'C0CLASE', team_id: 'T0AULA' }).toString();
    const res = await h.fake.postSigned(body, { timestamp: Math.floor(Date.now() / 1000) - 6 * 60 });
    assert.equal(res.status, 401);
    await sleep(150);
    assert.equal(h.ran.length, before);
  });

  test('a button click (block_actions) routes by prefix and updates the message in place', async () => {
    const ts = h.fake.calls('chat.postMessage')[0].result.ts;
    const res = await h.fake.click(ts, 'vote:7:B', STUDENT);
    assert.equal(res.status, 200);
    const update = await h.fake.waitForCall('chat.update');
    assert.deepEqual([update.args.channel, update.args.ts], ['C0CLASE', ts]);
    assert.equal(h.fake.messages.get(ts)!.text, 'Votos: Historia B 1');
    assert.deepEqual(h.fake.buttons(ts).map((b) => b.action_id), ['vote:7:A']);
    const ctx = h.clicked.at(-1)!;
    assert.deepEqual([ctx.customId, ctx.args, ctx.message.id, ctx.user.id, ctx.user.isTeacher], ['vote:7:B', ['7', 'B'], ts, STUDENT, false]);
    const eph = await h.fake.waitForCall('chat.postEphemeral', (c) => c.args.text === 'Tu voto: Historia B');
    assert.deepEqual([eph.args.channel, eph.args.user], ['C0CLASE', STUDENT]);
  });
});

describe('Socket Mode', () => {
  let h: Harness;
  before(async () => { h = await startHarness('socket'); });
  after(() => stopHarness(h));

  test('connects with the app token through apps.connections.open', () => {
    const open = h.fake.calls('apps.connections.open');
    assert.equal(open.length, 1);
    assert.equal(open[0].token, 'xapp-test');
    assert.equal(h.fake.connections, 1);
  });

  test('a slash_commands envelope is acked with its envelope_id and posts the reply', async () => {
    const posts = h.fake.calls('chat.postMessage').length;
    const res = await h.fake.slash('/train', '20', { userId: TEACHER });
    assert.equal(res.ack!.envelope_id, res.envelopeId);
    const post = await h.fake.waitForCall('chat.postMessage', () => true, posts + 1);
    assert.match(sectionText(post), /\*Entrenando\* con 20 líneas/);
    assert.deepEqual(h.ran.at(-1)!.options, { lines: 20, epochs: undefined, lr: undefined });
  });

  test('an interactive block_actions envelope is acked and leads to chat.update', async () => {
    const { ts } = await h.fake.waitForMessage((m) => h.fake.buttons(m.ts).some((b) => b.action_id === 'stop:7'));
    const res = await h.fake.click(ts, 'vote:7:A', STUDENT);
    assert.equal(res.ack!.envelope_id, res.envelopeId);
    const update = await h.fake.waitForCall('chat.update', (c) => c.args.ts === ts);
    assert.equal(update.args.text, 'Votos: Historia A 1');
    assert.deepEqual(h.clicked.at(-1)!.args, ['7', 'A']);
  });

  test('teacher check: by user id, by user group handle (cached), and refusal for students', async () => {
    const ran = h.ran.length;
    await h.fake.slash('/train', '5', { userId: STUDENT });
    const refusal = await h.fake.waitForCall('chat.postEphemeral', (c) => c.args.user === STUDENT && /profesorado/.test(c.args.text));
    assert.equal(refusal.args.text, 'Solo el profesorado puede usar /train.');
    assert.equal(h.ran.length, ran);

    await h.fake.slash('/train', 'lines:6', { userId: GROUP_MEMBER });
    await h.fake.waitFor(() => h.ran.length === ran + 1, 'the group member to run /train');
    assert.equal(h.ran.at(-1)!.user.isTeacher, true);
    await h.fake.slash('/train', 'lines:7', { userId: GROUP_MEMBER });
    await h.fake.waitFor(() => h.ran.length === ran + 2, 'the second /train');
    assert.equal(h.fake.calls('usergroups.list').length, 1);
    const lists = h.fake.calls('usergroups.users.list');
    assert.equal(lists.length, 1, 'members are cached for a minute');
    assert.equal(lists[0].args.usergroup, 'S0PROFES');
  });

  test('option errors reach the user ephemerally; bare and quoted values work end to end', async () => {
    await h.fake.slash('/train', 'lines:abc', { userId: TEACHER });
    await h.fake.waitForCall('chat.postEphemeral', (c) => c.args.text === '«lines» debe ser un número entero; has escrito «abc».');
    await h.fake.slash('/train', 'lines:9000', { userId: TEACHER });
    await h.fake.waitForCall('chat.postEphemeral', (c) => c.args.text === '«lines» debe ser como máximo 5000; has escrito 9000.');
    await h.fake.slash('/story', '“En un lugar de la Mancha”', { userId: STUDENT });
    const eph = await h.fake.waitForCall('chat.postEphemeral', (c) => /^Empieza:/.test(c.args.text));
    assert.equal(eph.args.text, 'Empieza: En un lugar de la Mancha');
    assert.equal(eph.args.user, STUDENT);
  });

  test('QuijoteError → its message; other errors → Spanish apology and a log line; the bot keeps working', async () => {
    await h.fake.slash('/busy', '', { userId: STUDENT });
    await h.fake.waitForCall('chat.postEphemeral', (c) => c.args.text === 'Ya hay un entrenamiento en marcha. Espera a que termine.');
    await h.fake.slash('/boom', '', { userId: STUDENT });
    const sorry = await h.fake.waitForCall('chat.postEphemeral', (c) => /^Lo siento/.test(c.args.text));
    assert.doesNotMatch(sorry.args.text, /kaput/);
    assert.ok(h.logs.some((l) => l.includes('kaput interno') && l.includes('/boom')));
    await h.fake.slash('/story', 'sigo vivo', { userId: STUDENT });
    await h.fake.waitForCall('chat.postEphemeral', (c) => c.args.text === 'Empieza: sigo vivo');
  });

  test('an image post uploads the PNG into the channel (files.uploadV2 flow)', async () => {
    await h.fake.slash('/chart', '', { userId: STUDENT });
    const done = await h.fake.waitForCall('files.completeUploadExternal');
    const get = h.fake.calls('files.getUploadURLExternal')[0];
    assert.equal(get.args.filename, 'curva.png');
    assert.equal(Number(get.args.length), PNG_BYTES.length);
    assert.equal(done.args.channel_id, 'C0CLASE');
    const file = h.fake.files.get(done.args.files[0].id)!;
    assert.ok(file.data!.equals(PNG_BYTES), 'uploaded bytes are the PNG');
    assert.deepEqual([...file.data!.subarray(1, 4)].map((c) => String.fromCharCode(c)).join(''), 'PNG');
    assert.equal(file.channel, 'C0CLASE');
    assert.ok(h.fake.calls('chat.postMessage').some((c) => c.args.text === 'Curva de pérdida'));
  });

  test('built-in Slack names are served under the prefixed command', async () => {
    await h.fake.slash('/quijote-status', '', { userId: STUDENT });
    await h.fake.waitForCall('chat.postMessage', (c) => c.args.text === 'Todo en orden');
    assert.equal(h.ran.at(-1)!.commandName, 'status');
  });

  test('when the bot cannot write in the channel the user is told through the response_url', async () => {
    h.fake.blockedChannels.add('C0PRIVADO');
    await h.fake.slash('/train', '5', { userId: TEACHER, channelId: 'C0PRIVADO' });
    const res = await h.fake.waitForCall('response_url');
    assert.equal(res.args.response_type, 'ephemeral');
    assert.match(res.args.text, /No puedo escribir en este canal \(not_in_channel\)\. Invítame/);
  });

  test('reconnects after Slack sends a disconnect envelope', async () => {
    h.fake.disconnect('refresh_requested');
    await h.fake.waitFor(() => h.fake.calls('apps.connections.open').length === 2 && h.fake.connections === 1, 'a reconnection', 15_000);
    const res = await h.fake.slash('/story', 'otra vez', { userId: STUDENT });
    assert.equal(res.ack!.envelope_id, res.envelopeId);
    await h.fake.waitForCall('chat.postEphemeral', (c) => c.args.text === 'Empieza: otra vez');
  });
});

describe('startup and teacher cache', () => {
  test('rejected tokens and missing settings are clear BAD_CONFIG errors', async () => {
    const fake = await FakeSlack.start({ botToken: 'xoxb-right', appToken: 'xapp-right' });
    try {
      const base = { appToken: 'xapp-x', mode: 'socket' as const, port: 0, teachers: [] };
      await assert.rejects(startSlack({ config: { ...base, botToken: 'xoxb-wrong' }, commands: [], buttons: [], services, slackApiUrl: fake.apiUrl, log: () => {} }),
        (e: unknown) => isQuijoteError(e, 'BAD_CONFIG') && /invalid_auth/.test(e.message) && /SLACK_BOT_TOKEN/.test(e.message));
      await assert.rejects(startSlack({ config: { ...base, botToken: 'xoxb-right' }, commands: [], buttons: [], services, slackApiUrl: fake.apiUrl, log: () => {} }),
        (e: unknown) => isQuijoteError(e, 'BAD_CONFIG') && /modo socket \(invalid_auth\)/.test(e.message) && /SLACK_APP_TOKEN/.test(e.message));
      assert.equal(fake.calls('apps.connections.open').length, 1, 'an unrecoverable auth error is not retried');
      await assert.rejects(startSlack({ config: { ...base, botToken: 'xoxb-right', appToken: undefined }, commands: [], buttons: [], services, slackApiUrl: fake.apiUrl }),
        (e: unknown) => isQuijoteError(e, 'BAD_CONFIG') && /SLACK_APP_TOKEN/.test(e.message));
      await assert.rejects(startSlack({ config: { ...base, botToken: 'xoxb-right', mode: 'http' }, commands: [], buttons: [], services, slackApiUrl: fake.apiUrl }),
        (e: unknown) => isQuijoteError(e, 'BAD_CONFIG') && /SLACK_SIGNING_SECRET/.test(e.message));
    } finally {
      await fake.close();
    }
  });

  test('group membership is refetched after a minute and a failing lookup is not cached', async () => {
    const fake = await FakeSlack.start({ usergroups: [{ id: 'S0PROFES', handle: 'profes', users: ['U1'] }] });
    try {
      let now = 1_000_000;
      const logs: string[] = [];
      const client = new webApi.WebClient('xoxb-t', { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 } });
      const check = new TeacherCheck(client, ['U0'], 'S0PROFES', (l) => logs.push(l), () => now);
      assert.equal(await check.isTeacher('U0'), true);
      assert.equal(fake.calls('usergroups.users.list').length, 0, 'listed teachers need no lookup');
      assert.equal(await check.isTeacher('U1'), true);
      fake.usergroups = [{ id: 'S0PROFES', handle: 'profes', users: ['U2'] }];
      now += 59_000;
      assert.equal(await check.isTeacher('U1'), true, 'still cached');
      now += 2_000;
      assert.equal(await check.isTeacher('U1'), false);
      assert.equal(await check.isTeacher('U2'), true);
      assert.equal(fake.calls('usergroups.users.list').length, 2);
      fake.usergroups = [];
      now += 61_000;
      assert.equal(await check.isTeacher('U2'), false);
      assert.ok(logs.some((l) => l.includes('no_such_subteam')));
      fake.usergroups = [{ id: 'S0PROFES', handle: 'profes', users: ['U2'] }];
      assert.equal(await check.isTeacher('U2'), true, 'a failed lookup is retried at once');
    } finally {
      await fake.close();
    }
  });
});
