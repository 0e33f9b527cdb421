import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULTS, loadConfig, loadDotenv, type AppConfig } from '../config/index.ts';
import { isQuijoteError, QuijoteError } from '../core/errors.ts';

/** The error loadConfig throws for `env`; English unless `env` sets LOCALE (most assertions below read English). */
function configError(env: Record<string, string>): QuijoteError {
  if (!('LOCALE' in env)) env = { LOCALE: 'en', ...env };
  try {
    loadConfig(env);
  } catch (e) {
    assert.ok(isQuijoteError(e, 'BAD_CONFIG'), `expected BAD_CONFIG, got ${String(e)}`);
    return e;
  }
  assert.fail(`no error for ${JSON.stringify(env)}`);
}

test('defaults: the seed table and the documented defaults', () => {
  const c = loadConfig({});
  assert.deepEqual(c.ml, {
    nLines: 100,
    epochs: 2,
    lr: 1e-4,
    blockSize: 128,
    trainBatchSize: 2,
    gradAccum: 4,
    maxNewTokens: 160,
    temperature: 0.9,
    topK: 50,
    topP: 0.95,
    repetitionPenalty: 1.1,
    evalLines: 200,
    seed: 42,
    warmupSteps: 0,
    weightDecay: 0,
    method: 'auto',
    lora: { rank: 8, lr: 2e-3, alpha: 16, dropout: 0.05, targets: ['c_attn'] },
  });
  assert.equal(c.model, 'datificate/gpt2-small-spanish');
  assert.deepEqual(c.text, { file: null, url: 'https://www.gutenberg.org/cache/epub/2000/pg2000.txt', startAt: null });
  assert.equal(c.backend, 'auto');
  assert.equal(c.webgpuMatmul, 'tiled');
  assert.equal(c.dataDir, './data');
  assert.equal(c.outDir, 'gpt2_es_quijote_minift');
  assert.equal(c.defaultPrompt, 'Escribe cinco oraciones sobre un colegio de monjas quijotescas.');
  assert.equal(c.locale, 'es');
  assert.equal(c.sharedDir, '../shared');
  assert.deepEqual(c.hf, {});
  assert.deepEqual(c.discord, { enabled: false, token: null, appId: null, guildId: null, teacherRole: 'Profesor', apiUrl: null, publicKey: null, httpPort: 3001, httpHost: '0.0.0.0' });
  assert.deepEqual(c.slack, {
    enabled: false,
    botToken: null,
    appToken: null,
    signingSecret: null,
    mode: 'socket',
    port: 3000,
    teachers: [],
    teacherGroup: null,
    apiUrl: null,
  });
  assert.equal(c.progressIntervalMs, 3000);
  assert.deepEqual(DEFAULTS, c);
});

test('overrides are parsed to their types; blank values count as unset', () => {
  const c = loadConfig({
    N_LINES: '500',
    EPOCHS: ' 3 ',
    LR: '5e-5',
    BLOCK_SIZE: '64',
    TRAIN_BS: '8',
    GRAD_ACCUM: '1',
    MAX_NEW_TOKENS: '80',
    TEMPERATURE: '0.7',
    TOP_K: '0',
    TOP_P: '1',
    REPETITION_PENALTY: '1.3',
    EVAL_LINES: '100',
    SEED: '0',
    WARMUP_STEPS: '10',
    WEIGHT_DECAY: '0.01',
    METHOD: 'LoRA',
    LORA_RANK: '4',
    LORA_ALPHA: '8',
    LORA_DROPOUT: '0',
    LORA_TARGETS: 'c_attn, c_proj ,,',
    QUIJOTE_MODEL: '/modelos/es-novelas-mini',
    QUIJOTE_TEXT: '/datos/quijote.txt',
    GUTENBERG_URL: 'http://127.0.0.1:8080/pg2000.txt',
    QUIJOTE_BACKEND: 'wasm',
    DATA_DIR: '/tmp/datos',
    OUT_DIR: 'salida',
    START_AT: '^Capítulo (primero|I)\\b',
    DEFAULT_PROMPT: 'Érase una vez',
    LOCALE: 'en',
    QUIJOTE_SHARED: '/work/shared',
    HF_HOME: '/cache/hf',
    HF_HUB_CACHE: '/cache/hub',
    HF_ENDPOINT: 'https://hf-mirror.example',
    HF_TOKEN: 'hf_abc',
    HF_HUB_OFFLINE: '1',
    PROGRESS_INTERVAL_MS: '1500',
    WEBGPU_MATMUL: 'tfjs',
    DISCORD_GUILD_ID: '',
    OTHER_VARIABLE: 'ignored',
  });
  assert.equal(c.ml.nLines, 500);
  assert.equal(c.ml.epochs, 3);
  assert.equal(c.ml.lr, 5e-5);
  assert.equal(c.ml.topK, 0);
  assert.equal(c.ml.topP, 1);
  assert.equal(c.ml.seed, 0);
  assert.equal(c.ml.weightDecay, 0.01);
  assert.equal(c.ml.method, 'lora');
  assert.deepEqual(c.ml.lora, { rank: 4, lr: 2e-3, alpha: 8, dropout: 0, targets: ['c_attn', 'c_proj'] });
  assert.equal(c.model, '/modelos/es-novelas-mini');
  assert.equal(c.text.file, '/datos/quijote.txt');
  assert.equal(c.text.url, 'http://127.0.0.1:8080/pg2000.txt');
  assert.ok(c.text.startAt instanceof RegExp);
  assert.ok(c.text.startAt.test('Capítulo I. Que trata'));
  assert.ok(!c.text.startAt.test('Capítulo II'));
  assert.equal(c.backend, 'wasm');
  assert.equal(c.locale, 'en');
  assert.equal(c.defaultPrompt, 'Érase una vez');
  assert.deepEqual(c.hf, { HF_HOME: '/cache/hf', HF_HUB_CACHE: '/cache/hub', HF_ENDPOINT: 'https://hf-mirror.example', HF_TOKEN: 'hf_abc', HF_HUB_OFFLINE: '1' });
  assert.equal(c.progressIntervalMs, 1500);
  assert.equal(c.webgpuMatmul, 'tfjs');
  assert.equal(c.discord.guildId, null);
});

test('LOCALE=en: each invalid value gives an "Expected `NAME` to be …, got `value`" line', () => {
  const cases: Array<[string, string, string]> = [
    ['EPOCHS', 'abc', 'Expected `EPOCHS` to be a positive integer, got `abc`'],
    ['EPOCHS', '0', 'Expected `EPOCHS` to be a positive integer, got `0`'],
    ['N_LINES', '1.5', 'Expected `N_LINES` to be a positive integer, got `1.5`'],
    ['BLOCK_SIZE', '-8', 'Expected `BLOCK_SIZE` to be a positive integer, got `-8`'],
    ['LR', '0', 'Expected `LR` to be a positive number, got `0`'],
    ['LR', '1e-4x', 'Expected `LR` to be a positive number, got `1e-4x`'],
    ['TEMPERATURE', 'Infinity', 'Expected `TEMPERATURE` to be a positive number, got `Infinity`'],
    ['TOP_K', '-1', 'Expected `TOP_K` to be a non-negative integer, got `-1`'],
    ['TOP_P', '1.5', 'Expected `TOP_P` to be a number in (0, 1], got `1.5`'],
    ['TOP_P', '0', 'Expected `TOP_P` to be a number in (0, 1], got `0`'],
    ['SEED', '0x10', 'Expected `SEED` to be a non-negative integer, got `0x10`'],
    ['WEIGHT_DECAY', '-0.1', 'Expected `WEIGHT_DECAY` to be a number >= 0, got `-0.1`'],
    ['LORA_DROPOUT', '1', 'Expected `LORA_DROPOUT` to be a number in [0, 1), got `1`'],
    ['METHOD', 'qlora', 'Expected `METHOD` to be one of auto, full, lora, got `qlora`'],
    ['QUIJOTE_BACKEND', 'cuda', 'Expected `QUIJOTE_BACKEND` to be one of auto, tensorflow, webgpu, wasm, cpu, got `cuda`'],
    ['WEBGPU_MATMUL', 'cublas', 'Expected `WEBGPU_MATMUL` to be one of tiled, tfjs, got `cublas`'],
    ['SLACK_MODE', 'webhook', 'Expected `SLACK_MODE` to be one of socket, http, got `webhook`'],
    ['SLACK_PORT', '70000', 'Expected `SLACK_PORT` to be a port number (1-65535), got `70000`'],
    ['GUTENBERG_URL', 'ftp://x/y.txt', 'Expected `GUTENBERG_URL` to be an http(s) URL, got `ftp://x/y.txt`'],
    ['LORA_TARGETS', 'c_attn; c_proj', 'Expected `LORA_TARGETS` to be a comma-separated list of layer names like `c_attn,c_proj`, got `c_attn; c_proj`'],
    ['SLACK_TEACHERS', 'U012AB,juan', 'Expected `SLACK_TEACHERS` to be a comma-separated list of Slack user ids like `U012ABCDEF`, got `U012AB,juan`'],
    ['SLACK_TEACHER_GROUP', 'profes', 'Expected `SLACK_TEACHER_GROUP` to be a Slack user group id like `S012ABCDEF`, got `profes`'],
    ['DISCORD_GUILD_ID', 'mi-servidor', 'Expected `DISCORD_GUILD_ID` to be a numeric Discord server (guild) id, got `mi-servidor`'],
    ['PROGRESS_INTERVAL_MS', '2.5s', 'Expected `PROGRESS_INTERVAL_MS` to be a positive integer, got `2.5s`'],
  ];
  for (const [name, value, line] of cases) {
    const e = configError({ [name]: value });
    assert.ok(e.message.includes(line), `${name}=${value}: ${e.message}`);
    assert.ok(e.message.includes('.env.example'), 'the message says where to look');
  }
  const re = configError({ START_AT: '^Capítulo (' });
  assert.match(re.message, /Expected `START_AT` to be a valid regular expression \(.+\), got `\^Capítulo \(`/);
});

test('configuration errors are in the user\'s language: Spanish by default, English with LOCALE=en, never mixed', () => {
  const es = configError({ LOCALE: 'es', EPOCHS: 'abc', TOP_P: '2', DISCORD_TOKEN: 'tok', SLACK_BOT_TOKEN: 'xapp-1', START_AT: '^Capítulo (' });
  assert.match(es.message, /^La configuración no es válida \(6 problemas\):/);
  for (const line of [
    '`EPOCHS` debe ser un número entero positivo; tiene `abc`',
    '`TOP_P` debe ser un número mayor que 0 y como mucho 1; tiene `2`',
    'Discord está configurado a medias: está `DISCORD_TOKEN` pero falta `DISCORD_APP_ID`',
    'Slack (modo socket) está configurado a medias: falta `SLACK_APP_TOKEN`',
    '`SLACK_BOT_TOKEN` debe empezar por `xoxb-`; empieza por `xapp-…`',
    '`START_AT` debe ser una expresión regular válida',
    'Corrige estas variables en .env o en el entorno (mira .env.example).',
  ]) assert.ok(es.message.includes(line), `${line}\n---\n${es.message}`);
  // no English word of the English catalogue leaks into the Spanish message (V8's regex detail included)
  assert.doesNotMatch(es.message, /\b(Expected|got|Invalid|partially|missing|Fix|Unterminated)\b/);
  // an unknown LOCALE is itself reported, in Spanish (the default language)
  assert.ok(configError({ LOCALE: 'fr' }).message.includes('`LOCALE` debe ser uno de estos valores: es, en; tiene `fr`'));
  const en = configError({ LOCALE: 'EN', EPOCHS: 'abc' });
  assert.match(en.message, /^Invalid configuration \(1 problem\):\n  - Expected `EPOCHS` to be a positive integer, got `abc`/);
  assert.doesNotMatch(en.message, /configuración|debe ser/);
  // an unreadable .env file, in both languages
  assert.throws(() => loadDotenv('/nonexistent/x.env', { LOCALE: 'en' }), /Cannot read the env file \/nonexistent\/x\.env/);
  assert.throws(() => loadDotenv('/nonexistent/x.env', {}), /No puedo leer el archivo de variables \/nonexistent\/x\.env \(ENOENT\)\. Revisa la ruta/);
});

test('all problems are collected into one error', () => {
  const e = configError({ EPOCHS: 'abc', LR: '-1', METHOD: 'x', SLACK_PORT: '0' });
  assert.match(e.message, /^Invalid configuration \(4 problems\):/);
  for (const name of ['EPOCHS', 'LR', 'METHOD', 'SLACK_PORT']) assert.ok(e.message.includes(`\`${name}\``), name);
});

test('the result is deeply frozen', () => {
  const c = loadConfig({ SLACK_TEACHERS: 'U1AB,W2CD' });
  assert.ok(Object.isFrozen(c));
  for (const part of [c.ml, c.ml.lora, c.ml.lora.targets, c.text, c.hf, c.discord, c.slack, c.slack.teachers]) assert.ok(Object.isFrozen(part));
  assert.throws(() => {
    (c as { model: string }).model = 'otro';
  }, TypeError);
  assert.throws(() => {
    (c.slack.teachers as string[]).push('U3EF');
  }, TypeError);
  assert.throws(() => {
    (c.ml as { epochs: number }).epochs = 9;
  }, TypeError);
  assert.ok(Object.isFrozen(DEFAULTS.ml));
});

test('Discord: enabled with token and app id; partial credentials name the missing variable', () => {
  const on = loadConfig({ DISCORD_TOKEN: 'tok', DISCORD_APP_ID: '123456789012345678', DISCORD_GUILD_ID: '876543210987654321', TEACHER_ROLE: 'Docente' });
  assert.deepEqual(on.discord, { enabled: true, token: 'tok', appId: '123456789012345678', guildId: '876543210987654321', teacherRole: 'Docente', apiUrl: null, publicKey: null, httpPort: 3001, httpHost: '0.0.0.0' });
  const noApp = configError({ DISCORD_TOKEN: 'tok' });
  assert.match(noApp.message, /Discord is partially configured: `DISCORD_TOKEN` set but `DISCORD_APP_ID` missing/);
  const noToken = configError({ DISCORD_APP_ID: '123456789012345678' });
  assert.match(noToken.message, /`DISCORD_APP_ID` set but `DISCORD_TOKEN` missing/);
  assert.match(configError({ DISCORD_TOKEN: 'tok', DISCORD_APP_ID: 'abc' }).message, /Expected `DISCORD_APP_ID` to be a numeric Discord application id, got `abc`/);
  assert.equal(loadConfig({ DISCORD_GUILD_ID: '123456789012345678' }).discord.enabled, false);
});

test('API base URLs: DISCORD_API_URL and SLACK_API_URL point the clients elsewhere; bad ones say what to set', () => {
  const c = loadConfig({ DISCORD_API_URL: 'http://127.0.0.1:8080/api', SLACK_API_URL: 'https://slack-gov.com/api/' });
  assert.equal(c.discord.apiUrl, 'http://127.0.0.1:8080/api');
  assert.equal(c.slack.apiUrl, 'https://slack-gov.com/api/');
  assert.match(configError({ DISCORD_API_URL: 'discord.com/api' }).message, /`DISCORD_API_URL` to be an http\(s\) URL/);
  assert.match(configError({ SLACK_API_URL: 'ftp://x' }).message, /`SLACK_API_URL` to be an http\(s\) URL/);
});

test('Slack: socket mode needs bot + app token, http mode bot token + signing secret', () => {
  const socket = loadConfig({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_APP_TOKEN: 'xapp-1', SLACK_TEACHERS: 'U012AB, W034CD', SLACK_TEACHER_GROUP: 'S0PROFES' });
  assert.equal(socket.slack.enabled, true);
  assert.equal(socket.slack.mode, 'socket');
  assert.deepEqual(socket.slack.teachers, ['U012AB', 'W034CD']);
  assert.equal(socket.slack.teacherGroup, 'S0PROFES');
  const http = loadConfig({ SLACK_MODE: 'http', SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 's3cr3t', SLACK_PORT: '8080' });
  assert.equal(http.slack.enabled, true);
  assert.equal(http.slack.port, 8080);
  assert.match(configError({ SLACK_BOT_TOKEN: 'xoxb-1' }).message, /Slack \(socket mode\) is partially configured: `SLACK_APP_TOKEN` missing/);
  assert.match(configError({ SLACK_APP_TOKEN: 'xapp-1' }).message, /`SLACK_BOT_TOKEN` missing/);
  assert.match(configError({ SLACK_MODE: 'http', SLACK_BOT_TOKEN: 'xoxb-1', SLACK_APP_TOKEN: 'xapp-1' }).message, /Slack \(http mode\) is partially configured: `SLACK_SIGNING_SECRET` missing/);
  assert.match(configError({ SLACK_SIGNING_SECRET: 'x' }).message, /`SLACK_BOT_TOKEN`, `SLACK_APP_TOKEN` missing/);
  // swapped tokens are caught without printing the secret
  const swapped = configError({ SLACK_BOT_TOKEN: 'xapp-1-A0-secretsecret', SLACK_APP_TOKEN: 'xoxb-secretsecret' });
  assert.match(swapped.message, /Expected `SLACK_BOT_TOKEN` to start with `xoxb-`, got `xapp-…`/);
  assert.match(swapped.message, /Expected `SLACK_APP_TOKEN` to start with `xapp-`, got `xoxb-…`/);
  assert.ok(!swapped.message.includes('secretsecret'));
  const both = loadConfig({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_APP_TOKEN: 'xapp-1', DISCORD_TOKEN: 't', DISCORD_APP_ID: '123456789012345678' });
  assert.ok(both.slack.enabled && both.discord.enabled);
});

test('loadConfig reads process.env by default', () => {
  const before = process.env.EPOCHS;
  process.env.EPOCHS = '7';
  try {
    assert.equal(loadConfig().ml.epochs, 7);
  } finally {
    if (before === undefined) delete process.env.EPOCHS;
    else process.env.EPOCHS = before;
  }
});

test('loadDotenv fills only unset variables; a missing explicit file is an error', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'quijote-env-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, '.env');
  await writeFile(file, '# comentario\nEPOCHS=5\nLR=2e-4\nDEFAULT_PROMPT="Había una vez, en la Mancha"\n');
  const target: Record<string, string | undefined> = { LR: '3e-4' };
  const r = loadDotenv(file, target);
  assert.deepEqual(r, { path: file, loaded: ['EPOCHS', 'DEFAULT_PROMPT'] });
  assert.deepEqual(target, { LR: '3e-4', EPOCHS: '5', DEFAULT_PROMPT: 'Había una vez, en la Mancha' });
  const c: AppConfig = loadConfig(target);
  assert.equal(c.ml.epochs, 5);
  assert.equal(c.ml.lr, 3e-4);
  assert.throws(() => loadDotenv(join(dir, 'no-existe.env'), {}), (e: unknown) => isQuijoteError(e, 'BAD_CONFIG') && e.message.includes('no-existe.env'));
});

test('.env.example documents every variable loadConfig reads, and loads cleanly', async () => {
  const example = await readFile(new URL('../.env.example', import.meta.url), 'utf8');
  const source = await readFile(new URL('../config/index.ts', import.meta.url), 'utf8');
  const read = new Set([...source.matchAll(/'([A-Z][A-Z0-9_]{2,})'/g)].map((m) => m[1]).filter((n) => !n.startsWith('BAD_') && n !== 'ENOENT'));
  assert.ok(read.size > 40, `found only ${read.size} names`);
  for (const name of read) assert.match(example, new RegExp(`^#? ?${name}=`, 'm'), `${name} missing from .env.example`);
  // the uncommented lines of the example are valid as they are
  const target: Record<string, string | undefined> = {};
  const dir = await mkdtemp(join(tmpdir(), 'quijote-env-'));
  await writeFile(join(dir, '.env'), example);
  loadDotenv(join(dir, '.env'), target);
  await rm(dir, { recursive: true, force: true });
  assert.deepEqual(loadConfig(target), DEFAULTS);
});

test('LORA_LR: LoRA has its own default learning rate (2e-3), overridable', () => {
  assert.equal(loadConfig({}).ml.lora.lr, 2e-3);
  assert.equal(loadConfig({ LORA_LR: '5e-4' }).ml.lora.lr, 5e-4);
  assert.throws(() => loadConfig({ LORA_LR: 'abc' }), /`LORA_LR`/);
});
