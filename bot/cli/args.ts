/**
 * CLI flags → engine settings. Flags override the configuration (environment / .env), which overrides the
 * seed's defaults. Unknown flags and bad values fail with one line that says what to do.
 */
import { parseArgs } from 'node:util';
import type { AppConfig } from '../../config/index.ts';
import { QuijoteError } from '../../core/errors.ts';
import type { EngineSettings } from '../../core/pipeline/tfjs-engine.ts';

export const FLAGS = {
  model: { type: 'string' }, base: { type: 'string' }, text: { type: 'string' }, out: { type: 'string' },
  backend: { type: 'string' }, lines: { type: 'string' }, epochs: { type: 'string' }, lr: { type: 'string' },
  'block-size': { type: 'string' }, 'train-bs': { type: 'string' }, 'grad-accum': { type: 'string' },
  'eval-lines': { type: 'string' }, 'start-at': { type: 'string' }, method: { type: 'string' }, seed: { type: 'string' },
  'warmup-steps': { type: 'string' }, 'weight-decay': { type: 'string' }, 'lora-rank': { type: 'string' }, 'lora-alpha': { type: 'string' },
  prompt: { type: 'string' }, 'max-new-tokens': { type: 'string' }, temperature: { type: 'string' }, 'top-k': { type: 'string' },
  'top-p': { type: 'string' }, 'repetition-penalty': { type: 'string' }, greedy: { type: 'boolean' }, compare: { type: 'boolean' }, merged: { type: 'boolean' }, rounds: { type: 'string' }, 'class-model': { type: 'string' },
  json: { type: 'boolean' }, threads: { type: 'string' }, 'with-torch': { type: 'boolean' }, help: { type: 'boolean', short: 'h' }, steps: { type: 'string' }, only: { type: 'string' }, 'batch-size': { type: 'string' },
} as const;

export type Flags = { [K in keyof typeof FLAGS]?: (typeof FLAGS)[K]['type'] extends 'boolean' ? boolean : string };

export function parseCli(argv: string[]): { command: string | undefined; positionals: string[]; flags: Flags } {
  try {
    const { values, positionals } = parseArgs({ args: argv, options: FLAGS, allowPositionals: true, strict: true });
    return { command: positionals[0], positionals: positionals.slice(1), flags: values as Flags };
  } catch (e) {
    throw new QuijoteError('BAD_ARGUMENT', (e as Error).message, { hint: 'Mira `quijote --help`.' });
  }
}

function num(flag: string, raw: string | undefined, fallback: number, kind: 'int' | 'posint' | 'number' | 'posnumber'): number {
  if (raw === undefined) return fallback;
  const v = Number(raw);
  const ok = raw.trim() !== '' && Number.isFinite(v) && (kind === 'number' || kind === 'posnumber' ? true : Number.isInteger(v)) &&
    (kind === 'posint' || kind === 'posnumber' ? v > 0 : kind === 'int' ? v >= 0 : true);
  if (!ok) {
    const what = kind === 'posint' ? 'un entero positivo' : kind === 'int' ? 'un entero ≥ 0' : kind === 'posnumber' ? 'un número positivo' : 'un número';
    throw new QuijoteError('BAD_ARGUMENT', `--${flag} debe ser ${what}; recibido: ${raw}.`);
  }
  return v;
}

export const intFlag = (f: Flags, name: keyof Flags, fallback: number) => num(String(name), f[name] as string | undefined, fallback, 'posint');
export const numFlag = (f: Flags, name: keyof Flags, fallback: number) => num(String(name), f[name] as string | undefined, fallback, 'posnumber');

export function settingsFrom(config: AppConfig, f: Flags): EngineSettings {
  const ml = config.ml;
  const method = f.method ?? ml.method;
  if (!['auto', 'full', 'lora'].includes(method)) throw new QuijoteError('BAD_ARGUMENT', `--method debe ser full, lora o auto; recibido: ${method}.`);
  const backend = f.backend ?? config.backend;
  if (!['auto', 'tensorflow', 'webgpu', 'wasm', 'cpu'].includes(backend)) {
    throw new QuijoteError('BAD_ARGUMENT', `--backend debe ser auto, tensorflow, webgpu, wasm o cpu; recibido: ${backend}.`);
  }
  let startAt = config.text.startAt;
  if (f['start-at'] !== undefined) {
    try { startAt = new RegExp(f['start-at']); } catch { throw new QuijoteError('BAD_ARGUMENT', `--start-at no es una expresión regular válida: ${f['start-at']}.`); }
  }
  return {
    model: f.model ?? config.model,
    backend: backend as EngineSettings['backend'],
    wasmThreads: num('threads', f.threads, config.wasmThreads, 'int'),
    webgpuMatmul: config.webgpuMatmul,
    text: { file: f.text ?? config.text.file, url: config.text.url, startAt },
    dataDir: config.dataDir,
    hf: config.hf,
    ml: {
      nLines: intFlag(f, 'lines', ml.nLines), epochs: intFlag(f, 'epochs', ml.epochs), lr: numFlag(f, 'lr', ml.lr),
      blockSize: intFlag(f, 'block-size', ml.blockSize), trainBatchSize: intFlag(f, 'train-bs', ml.trainBatchSize),
      gradAccum: intFlag(f, 'grad-accum', ml.gradAccum), maxNewTokens: intFlag(f, 'max-new-tokens', ml.maxNewTokens),
      temperature: numFlag(f, 'temperature', ml.temperature), topK: num('top-k', f['top-k'], ml.topK, 'int'),
      topP: numFlag(f, 'top-p', ml.topP), repetitionPenalty: numFlag(f, 'repetition-penalty', ml.repetitionPenalty),
      evalLines: intFlag(f, 'eval-lines', ml.evalLines), seed: num('seed', f.seed, ml.seed, 'int'),
      warmupSteps: num('warmup-steps', f['warmup-steps'], ml.warmupSteps, 'int'), weightDecay: num('weight-decay', f['weight-decay'], ml.weightDecay, 'number'),
      method: method as 'auto' | 'full' | 'lora',
      lora: { ...ml.lora, targets: [...ml.lora.targets], rank: intFlag(f, 'lora-rank', ml.lora.rank), alpha: numFlag(f, 'lora-alpha', ml.lora.alpha),
        lr: f.lr !== undefined ? numFlag(f, 'lr', ml.lr) : ml.lora.lr }, // an explicit --lr applies to LoRA too
    },
  };
}
