/**
 * CLI flags → engine settings. Flags override the configuration (environment / .env), which overrides the
 * seed's defaults. Unknown flags and bad values fail with one line that says what to do.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { AppConfig } from '../../config/index.ts';
import { QuijoteError } from '../../core/errors.ts';
import type { EngineSettings } from '../../core/pipeline/tfjs-engine.ts';
import { COMMAND_SPECS, COMMON_FLAGS, commandSpec } from './spec.ts';

/** Every flag's type, for `Flags` (what each command accepts is bot/cli/spec.ts). */
export const FLAGS = {
  model: { type: 'string' }, base: { type: 'string' }, text: { type: 'string' }, out: { type: 'string' },
  backend: { type: 'string' }, lines: { type: 'string' }, epochs: { type: 'string' }, lr: { type: 'string' },
  'block-size': { type: 'string' }, 'train-bs': { type: 'string' }, 'grad-accum': { type: 'string' },
  'eval-lines': { type: 'string' }, 'start-at': { type: 'string' }, method: { type: 'string' }, seed: { type: 'string' },
  'warmup-steps': { type: 'string' }, 'weight-decay': { type: 'string' }, 'lora-rank': { type: 'string' }, 'lora-alpha': { type: 'string' },
  prompt: { type: 'string' }, 'max-new-tokens': { type: 'string' }, temperature: { type: 'string' }, 'top-k': { type: 'string' },
  'top-p': { type: 'string' }, 'repetition-penalty': { type: 'string' }, greedy: { type: 'boolean' }, compare: { type: 'boolean' }, merged: { type: 'boolean' }, rounds: { type: 'string' }, 'class-model': { type: 'string' },
  json: { type: 'boolean' }, threads: { type: 'string' }, 'with-torch': { type: 'boolean' }, help: { type: 'boolean', short: 'h' }, steps: { type: 'string' }, only: { type: 'string' }, 'batch-size': { type: 'string' },
  version: { type: 'boolean', short: 'v' },
  'teacher-text': { type: 'string' }, mix: { type: 'string' },
} as const;

/** The parsed flags. `download --text` is the one boolean among string flags of that name (read it as `=== true`). */
export type Flags = { [K in keyof typeof FLAGS]?: (typeof FLAGS)[K]['type'] extends 'boolean' ? boolean : string };

/** Edit distance (insertions, deletions, substitutions, adjacent swaps), for "did you mean". */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/** The candidate closest to `word` (ties: the first); a prefix of a candidate counts as closest. */
export function closest(word: string, candidates: readonly string[]): string {
  const prefixed = candidates.find((c) => c.startsWith(word));
  if (prefixed && word.length >= 2) return prefixed;
  let best = candidates[0];
  let bestD = Infinity;
  for (const c of candidates) {
    const dist = editDistance(word, c);
    if (dist < bestD) { best = c; bestD = dist; }
  }
  return best;
}

const bad = (message: string, hint: string) => new QuijoteError('BAD_ARGUMENT', message, { hint });

/**
 * Splits argv into the command, its positionals and its flags, checked against that command's flags
 * (bot/cli/spec.ts): an unknown flag names the closest valid one, a flag without its value says so.
 */
export function parseCli(argv: string[]): { command: string | undefined; positionals: string[]; flags: Flags } {
  const firstPositional = argv.findIndex((a) => !a.startsWith('-'));
  const doubleDash = argv.indexOf('--');
  const command = firstPositional >= 0 && (doubleDash < 0 || firstPositional < doubleDash) ? argv[firstPositional] : undefined;
  const spec = command ? commandSpec(command) : undefined;
  if (command && !spec && command !== 'help') {
    const names = [...COMMAND_SPECS.map((c) => c.name), 'help'];
    throw bad(`Orden desconocida: ${command}. ¿Quisiste decir \`quijote ${closest(command, names)}\`?`, `Órdenes: ${names.join(', ')}. Mira \`quijote --help\`.`);
  }
  const allowed = [...(spec?.flags ?? []), ...COMMON_FLAGS];
  const options: ParseArgsConfig['options'] = {};
  for (const f of allowed) options[f.name] = { type: f.type, ...(f.name === 'help' ? { short: 'h' } : f.name === 'version' ? { short: 'v' } : {}) };
  const where = command ? `quijote ${command}` : 'quijote';
  const helpHint = `Mira \`${where} --help\`.`;
  const { values, positionals, tokens } = parseArgs({ args: argv, options, allowPositionals: true, strict: false, tokens: true });
  for (const tk of tokens ?? []) {
    if (tk.kind !== 'option') continue;
    const f = allowed.find((a) => a.name === tk.name);
    if (!f) {
      const names = allowed.map((a) => a.name);
      throw bad(`\`${where}\` no tiene la opción ${tk.rawName}. ¿Quisiste decir --${closest(tk.name, names)}?`, helpHint);
    }
    const swallowed = f.type === 'string' && !tk.inlineValue && tk.value?.startsWith('--') && allowed.some((a) => `--${a.name}` === tk.value);
    if ((f.type === 'string' && tk.value === undefined) || swallowed) throw bad(`A ${tk.rawName} le falta su valor (${tk.rawName} ${f.arg ?? 'VALOR'}).`, helpHint);
    if (f.type === 'boolean' && tk.inlineValue) throw bad(`${tk.rawName} no lleva valor; escribe solo ${tk.rawName}.`, helpHint);
  }
  const rest = command ? positionals.filter((_, i) => i !== positionals.indexOf(command)) : positionals;
  return { command, positionals: rest, flags: values as Flags };
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
