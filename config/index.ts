/**
 * The project's configuration: the ONLY module that reads the environment. `loadConfig(env)` is pure (pass any
 * record); `loadDotenv()` copies a .env file into process.env beforehand, without overriding what is set.
 */
import { readFileSync } from 'node:fs';
import { parse as parseDotenv } from 'dotenv';
import { QuijoteError } from '../core/errors.ts';
import { configTexts, localeOf } from './messages.ts';
import { readDistributed, type DistributedConfig } from './distributed.ts';
import { deepFreeze, EnvReader, type Env } from './parse.ts';

export type TrainMethod = 'auto' | 'full' | 'lora';
export type BackendName = 'auto' | 'tensorflow' | 'webgpu' | 'wasm' | 'cpu';
export type Locale = 'es' | 'en';
export type SlackMode = 'socket' | 'http';

export interface MlConfig {
  nLines: number;
  epochs: number;
  lr: number;
  blockSize: number;
  trainBatchSize: number;
  gradAccum: number;
  maxNewTokens: number;
  temperature: number;
  topK: number;
  topP: number;
  repetitionPenalty: number;
  evalLines: number;
  seed: number;
  warmupSteps: number;
  weightDecay: number;
  method: TrainMethod;
  /** `lr` is the learning rate when training LoRA adapters without an explicit LR (they need a larger one). */
  lora: { rank: number; alpha: number; dropout: number; targets: readonly string[]; lr: number };
}

/** Hugging Face variables, raw; core/model/hub.ts `hubOptionsFromEnv(config.hf, homeDir)` interprets them. */
export interface HfEnv {
  HF_HOME?: string;
  HF_HUB_CACHE?: string;
  HF_ENDPOINT?: string;
  HF_TOKEN?: string;
  HF_HUB_OFFLINE?: string;
}

interface AppConfigData {
  ml: MlConfig;
  /** Hugging Face repo id or local folder of the base model */
  model: string;
  text: { file: string | null; url: string; startAt: RegExp | null };
  backend: BackendName;
  dataDir: string;
  outDir: string;
  defaultPrompt: string;
  locale: Locale;
  sharedDir: string;
  hf: HfEnv;
  discord: {
    enabled: boolean; token: string | null; appId: string | null; guildId: string | null; teacherRole: string;
    /** REST base URL (DISCORD_API_URL), e.g. a @discordjs/proxy; null = discord.js' default (https://discord.com/api). */
    apiUrl: string | null;
    /** DISCORD_PUBLIC_KEY: set = HTTP interactions (the Interactions Endpoint URL) on DISCORD_HTTP_PORT instead of the Gateway. */
    publicKey: string | null;
    httpPort: number;
    httpHost: string;
  };
  slack: {
    enabled: boolean;
    botToken: string | null;
    appToken: string | null;
    signingSecret: string | null;
    mode: SlackMode;
    port: number;
    teachers: readonly string[];
    teacherGroup: string | null;
    /** Web API base URL (SLACK_API_URL, Bolt's slackApiUrl), e.g. GovSlack; null = https://slack.com/api/. */
    apiUrl: string | null;
  };
  progressIntervalMs: number;
  /** XNNPACK threads of the wasm backend; 0 = one per CPU. */
  wasmThreads: number;
  /** WebGPU matmul: `tiled` (ours, 128×128 tiles, checked against tfjs' at start) or `tfjs`. */
  webgpuMatmul: 'tiled' | 'tfjs';
  /** LD_LIBRARY_PATH, where the CUDA/cuDNN libraries of tfjs-node-gpu are looked for. */
  libraryPath: string | null;
  /** Polls: `liveSplit` shows the A/B count while voting (POLL_LIVE_SPLIT=1); by default only how many voted. */
  polls: { liveSplit: boolean };
  /** Finished run folders kept per class besides the active model (KEEP_RUNS, default 3); older ones are pruned. */
  keepRuns: number;
  /** Story/score jobs waiting: per person (QUEUE_PER_USER, default 2) and in all (QUEUE_MAX, default 40). */
  queue: { perUser: number; max: number };
  /** ROLE, REDIS_URL, MODEL_STORE (config/distributed.ts); all unset = the embedded default. */
  distributed: DistributedConfig;
}

export type DeepReadonly<T> = T extends RegExp ? T : T extends object ? { readonly [K in keyof T]: DeepReadonly<T[K]> } : T;

/** The whole configuration, deeply read-only (the object is frozen at run time too). */
export type AppConfig = DeepReadonly<AppConfigData>;

const HF_KEYS = ['HF_HOME', 'HF_HUB_CACHE', 'HF_ENDPOINT', 'HF_TOKEN', 'HF_HUB_OFFLINE'] as const;
const SNOWFLAKE = /^\d{5,25}$/;

function readMl(r: EnvReader): MlConfig {
  return {
    nLines: r.positiveInt('N_LINES', 100),
    epochs: r.positiveInt('EPOCHS', 2),
    lr: r.positiveNumber('LR', 1e-4),
    blockSize: r.positiveInt('BLOCK_SIZE', 128),
    trainBatchSize: r.positiveInt('TRAIN_BS', 2),
    gradAccum: r.positiveInt('GRAD_ACCUM', 4),
    maxNewTokens: r.positiveInt('MAX_NEW_TOKENS', 160),
    temperature: r.positiveNumber('TEMPERATURE', 0.9),
    topK: r.nonNegativeInt('TOP_K', 50),
    topP: r.number('TOP_P', 0.95, { min: 0, minExclusive: true, max: 1, expected: { es: 'un número mayor que 0 y como mucho 1', en: 'a number in (0, 1]' } }),
    repetitionPenalty: r.positiveNumber('REPETITION_PENALTY', 1.1),
    evalLines: r.positiveInt('EVAL_LINES', 200),
    seed: r.nonNegativeInt('SEED', 42),
    warmupSteps: r.nonNegativeInt('WARMUP_STEPS', 0),
    weightDecay: r.nonNegativeNumber('WEIGHT_DECAY', 0),
    method: r.oneOf('METHOD', ['auto', 'full', 'lora'] as const, 'auto'),
    lora: {
      rank: r.positiveInt('LORA_RANK', 8),
      lr: r.positiveNumber('LORA_LR', 2e-3),
      alpha: r.positiveNumber('LORA_ALPHA', 16),
      dropout: r.number('LORA_DROPOUT', 0.05, { min: 0, max: 0.99, expected: { es: 'un número entre 0 y 1 (sin llegar a 1)', en: 'a number in [0, 1)' } }),
      targets: r.list('LORA_TARGETS', ['c_attn'], /^[A-Za-z0-9_.]+$/, { es: 'una lista de nombres de capas separados por comas, como `c_attn,c_proj`', en: 'a comma-separated list of layer names like `c_attn,c_proj`' }),
    },
  };
}

/** Both credentials or none: reports the missing one(s). Returns true when all are set. */
function pair(r: EnvReader, names: readonly string[], what: string): boolean {
  const set = names.filter((n) => r.raw(n) !== undefined);
  if (set.length === 0) return false;
  const missing = names.filter((n) => r.raw(n) === undefined);
  if (missing.length === 0) return true;
  r.errors.push(r.texts.partial(what, set, missing));
  return false;
}

/** Token prefix check without echoing the secret. */
function tokenPrefix(r: EnvReader, name: string, prefix: string): void {
  const v = r.raw(name);
  if (v !== undefined && !v.startsWith(prefix)) {
    r.errors.push(r.texts.prefix(name, prefix, v.slice(0, 5)));
  }
}

function optionalUrl(r: EnvReader, name: string): string | null {
  return r.raw(name) === undefined ? null : r.url(name, '') || null;
}

function readDiscord(r: EnvReader): AppConfigData['discord'] {
  const appId = r.matching('DISCORD_APP_ID', SNOWFLAKE, { es: 'un id numérico de aplicación de Discord', en: 'a numeric Discord application id' });
  const guildId = r.matching('DISCORD_GUILD_ID', SNOWFLAKE, { es: 'un id numérico de servidor de Discord', en: 'a numeric Discord server (guild) id' });
  const enabled = pair(r, ['DISCORD_TOKEN', 'DISCORD_APP_ID'], 'Discord');
  return {
    enabled,
    token: r.optional('DISCORD_TOKEN') ?? null,
    appId: appId ?? null,
    guildId: guildId ?? null,
    teacherRole: r.string('TEACHER_ROLE', 'Profesor'),
    apiUrl: optionalUrl(r, 'DISCORD_API_URL'),
    publicKey: r.matching('DISCORD_PUBLIC_KEY', /^[0-9a-fA-F]{64}$/, 'the application\'s public key, 64 hexadecimal digits') ?? null,
    httpPort: r.number('DISCORD_HTTP_PORT', 3001, { min: 1, max: 65535, integer: true, expected: 'a port number (1-65535)' }),
    /** DISCORD_HTTP_HOST: the address the interactions endpoint listens on (default every interface, for the load balancer). */
    httpHost: r.string('DISCORD_HTTP_HOST', '0.0.0.0'),
  };
}

function readSlack(r: EnvReader): AppConfigData['slack'] {
  const mode = r.oneOf('SLACK_MODE', ['socket', 'http'] as const, 'socket');
  const required = mode === 'socket' ? ['SLACK_BOT_TOKEN', 'SLACK_APP_TOKEN'] : ['SLACK_BOT_TOKEN', 'SLACK_SIGNING_SECRET'];
  const anySet = ['SLACK_BOT_TOKEN', 'SLACK_APP_TOKEN', 'SLACK_SIGNING_SECRET'].some((n) => r.raw(n) !== undefined);
  let enabled = false;
  if (anySet) {
    const missing = required.filter((n) => r.raw(n) === undefined);
    if (missing.length === 0) enabled = true;
    else
      r.errors.push(r.texts.slackPartial(mode, missing));
  }
  tokenPrefix(r, 'SLACK_BOT_TOKEN', 'xoxb-');
  tokenPrefix(r, 'SLACK_APP_TOKEN', 'xapp-');
  return {
    enabled,
    botToken: r.optional('SLACK_BOT_TOKEN') ?? null,
    appToken: r.optional('SLACK_APP_TOKEN') ?? null,
    signingSecret: r.optional('SLACK_SIGNING_SECRET') ?? null,
    mode,
    port: r.number('SLACK_PORT', 3000, { min: 1, max: 65535, integer: true, expected: { es: 'un número de puerto (1-65535)', en: 'a port number (1-65535)' } }),
    teachers: r.list('SLACK_TEACHERS', [], /^[UW][A-Z0-9]{2,}$/, { es: 'una lista de ids de usuario de Slack separados por comas, como `U012ABCDEF`', en: 'a comma-separated list of Slack user ids like `U012ABCDEF`' }),
    teacherGroup: r.matching('SLACK_TEACHER_GROUP', /^S[A-Z0-9]{2,}$/, { es: 'un id de grupo de usuarios de Slack, como `S012ABCDEF`', en: 'a Slack user group id like `S012ABCDEF`' }) ?? null,
    apiUrl: optionalUrl(r, 'SLACK_API_URL'),
  };
}

/**
 * Reads, validates and deep-freezes the configuration. Every problem is collected and reported in one
 * QuijoteError BAD_CONFIG.
 */
export function loadConfig(env: Env = process.env): AppConfig {
  const r = new EnvReader(env);
  const hf: HfEnv = {};
  for (const k of HF_KEYS) {
    const v = r.raw(k);
    if (v !== undefined) hf[k] = v;
  }
  const config: AppConfigData = {
    ml: readMl(r),
    model: r.string('QUIJOTE_MODEL', 'datificate/gpt2-small-spanish'),
    text: {
      file: r.optional('QUIJOTE_TEXT') ?? null,
      url: r.url('GUTENBERG_URL', 'https://www.gutenberg.org/cache/epub/2000/pg2000.txt'),
      startAt: r.regex('START_AT'),
    },
    backend: r.oneOf('QUIJOTE_BACKEND', ['auto', 'tensorflow', 'webgpu', 'wasm', 'cpu'] as const, 'auto'),
    dataDir: r.string('DATA_DIR', './data'),
    outDir: r.string('OUT_DIR', 'gpt2_es_quijote_minift'),
    defaultPrompt: r.string('DEFAULT_PROMPT', 'Escribe cinco oraciones sobre un colegio de monjas quijotescas.'),
    locale: r.oneOf('LOCALE', ['es', 'en'] as const, 'es'),
    sharedDir: r.string('QUIJOTE_SHARED', '../shared'),
    hf,
    discord: readDiscord(r),
    slack: readSlack(r),
    progressIntervalMs: r.positiveInt('PROGRESS_INTERVAL_MS', 3000),
    wasmThreads: r.nonNegativeInt('WASM_THREADS', 0),
    webgpuMatmul: r.oneOf('WEBGPU_MATMUL', ['tiled', 'tfjs'] as const, 'tiled'),
    libraryPath: r.optional('LD_LIBRARY_PATH') ?? null,
    polls: { liveSplit: ['1', 'true', 'yes', 'on', 'si', 'sí'].includes(r.oneOf('POLL_LIVE_SPLIT', ['0', '1', 'true', 'false', 'yes', 'no', 'on', 'off', 'si', 'sí'] as const, '0')) },
    keepRuns: r.nonNegativeInt('KEEP_RUNS', 3),
    queue: { perUser: r.positiveInt('QUEUE_PER_USER', 2), max: r.positiveInt('QUEUE_MAX', 40) },
    distributed: readDistributed(r),
  };
  if (r.errors.length > 0) {
    const list = r.errors.map((e) => `  - ${e}`).join('\n');
    throw new QuijoteError('BAD_CONFIG', `${r.texts.header(r.errors.length)}\n${list}`, { hint: r.texts.hint });
  }
  return deepFreeze(config);
}

export { localeOf } from './messages.ts';

/** The configuration with nothing set. */
export const DEFAULTS: AppConfig = loadConfig({});

/**
 * Copies the variables of a .env file (default `.env` in the working directory) into `target` (default
 * process.env) without overriding values already set. A missing default file is not an error; a missing
 * explicit path is.
 */
export function loadDotenv(path?: string, target: Record<string, string | undefined> = process.env): { path: string; loaded: string[] } {
  const file = path ?? '.env';
  let content: string;
  try {
    content = readFileSync(file, 'utf8');
  } catch (cause) {
    const code = typeof cause === 'object' && cause !== null && 'code' in cause ? (cause as { code: unknown }).code : undefined;
    if (path === undefined && code === 'ENOENT') return { path: file, loaded: [] };
    const texts = configTexts(localeOf(target));
    throw new QuijoteError('BAD_CONFIG', texts.unreadable(file, String(code ?? cause)), { cause, hint: texts.unreadableHint });
  }
  const parsed = parseDotenv(content);
  const loaded: string[] = [];
  for (const [k, v] of Object.entries(parsed)) {
    if (target[k] === undefined) {
      target[k] = v;
      loaded.push(k);
    }
  }
  return { path: file, loaded };
}
