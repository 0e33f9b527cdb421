/**
 * What each `quijote` command accepts: its flags, what they mean and their defaults (from the configuration, so
 * `--help` shows what a run would use). bot/cli/args.ts parses against this table and bot/cli/help.ts prints it.
 */
import type { AppConfig } from '../../config/index.ts';

export type FlagType = 'string' | 'boolean';

export interface FlagSpec {
  name: string;
  type: FlagType;
  /** What the value looks like in the help, e.g. N, DIR_O_ID. */
  arg?: string;
  help: string;
  /** The value used when the flag is absent (undefined: nothing to show). */
  default?: (c: AppConfig) => string | undefined;
}

export interface CommandSpec {
  name: string;
  summary: string;
  usage: string;
  flags: FlagSpec[];
  /** Positional text (the prompt, the text to score). */
  positional?: string;
}

const str = (name: string, arg: string, help: string, def?: FlagSpec['default']): FlagSpec => ({ name, type: 'string', arg, help, default: def });
const bool = (name: string, help: string): FlagSpec => ({ name, type: 'boolean', help });

const BACKENDS = 'auto|tensorflow|webgpu|wasm|cpu';
const model = str('model', 'DIR_O_ID', 'modelo base: carpeta de Hugging Face o id del Hub', (c) => c.model);
const backend = str('backend', BACKENDS, 'backend de TensorFlow.js (auto: el más rápido disponible)', (c) => c.backend);
const threads = str('threads', 'N', 'hilos del backend wasm (0 = uno por CPU)', (c) => String(c.wasmThreads));
const json = bool('json', 'salida JSON estable en stdout (ver README)');
const seed = str('seed', 'N', 'semilla aleatoria', (c) => String(c.ml.seed));
const text = str('text', 'FICHERO', 'el Quijote en .txt UTF-8 de Gutenberg', (c) => c.text.file ?? `descargado de GUTENBERG_URL a ${c.dataDir}`);
const startAt = str('start-at', 'REGEX', 'primera línea del cuerpo del libro', (c) => c.text.startAt?.source ?? '^Capítulo primero');
const evalLines = str('eval-lines', 'N', 'últimas líneas del libro reservadas para evaluar', (c) => String(c.ml.evalLines));
const out = str('out', 'CARPETA', 'carpeta de salida; el modelo va en CARPETA/final', (c) => c.outDir);
const prompt = str('prompt', 'TEXTO', 'comienzo del texto', (c) => c.defaultPrompt);
const textFlag = str('prompt', 'TEXTO', 'el texto, en lugar de pasarlo entre comillas al final');

const generation: FlagSpec[] = [
  str('max-new-tokens', 'N', 'máximo de tokens nuevos', (c) => String(c.ml.maxNewTokens)),
  str('temperature', 'T', 'temperatura del muestreo', (c) => String(c.ml.temperature)),
  str('top-k', 'K', 'muestreo entre los K tokens más probables (0 = sin límite)', (c) => String(c.ml.topK)),
  str('top-p', 'P', 'muestreo de núcleo: masa de probabilidad acumulada', (c) => String(c.ml.topP)),
  str('repetition-penalty', 'R', 'penalización de repetición (1 = ninguna)', (c) => String(c.ml.repetitionPenalty)),
];

const training: FlagSpec[] = [
  str('lines', 'N', 'primeras N líneas del Quijote para entrenar', (c) => String(c.ml.nLines)),
  str('epochs', 'N', 'pasadas completas por esas líneas', (c) => String(c.ml.epochs)),
  str('lr', 'X', 'tasa de aprendizaje (también la de LoRA si se indica)', (c) => `${c.ml.lr} (LoRA: ${c.ml.lora.lr})`),
  str('block-size', 'N', 'tokens por bloque', (c) => String(c.ml.blockSize)),
  str('train-bs', 'N', 'bloques por lote', (c) => String(c.ml.trainBatchSize)),
  str('grad-accum', 'N', 'lotes acumulados por paso del optimizador', (c) => String(c.ml.gradAccum)),
  str('method', 'auto|full|lora', 'afinado completo o LoRA (auto: según backend y memoria)', (c) => c.ml.method),
  str('warmup-steps', 'N', 'pasos de calentamiento de la tasa de aprendizaje', (c) => String(c.ml.warmupSteps)),
  str('weight-decay', 'X', 'decaimiento de pesos de AdamW', (c) => String(c.ml.weightDecay)),
  str('lora-rank', 'N', 'rango de LoRA', (c) => String(c.ml.lora.rank)),
  str('lora-alpha', 'X', 'alfa de LoRA', (c) => String(c.ml.lora.alpha)),
];

export const COMMAND_SPECS: CommandSpec[] = [
  {
    name: 'train',
    summary: 'afina el modelo base con las primeras líneas del Quijote y lo guarda',
    usage: 'quijote train [--lines N] [--teacher-text FICHERO --mix 70] [opciones]',
    flags: [
      ...training, model, text, startAt, evalLines, out, seed, backend, threads, json,
      str('teacher-text', 'FICHERO', 'un texto propio (.txt, hasta 2 MB, UTF-8 o Latin-1, 20 líneas o más) que mezclar con el Quijote; --lines cuenta las de los dos'),
      str('mix', 'N', 'con --teacher-text: porcentaje de líneas del Quijote (0–100); el resto, del texto', () => '50'),
    ],
  },
  {
    name: 'story',
    summary: 'un cuento de cinco oraciones; --compare: el del modelo base y el del afinado, con su perplejidad',
    usage: 'quijote story "Escribe cinco oraciones sobre…" [opciones]',
    positional: 'el comienzo del cuento',
    flags: [
      str('model', 'CARPETA_O_ID', 'modelo que escribe (con --compare, el afinado)', (c) => `${c.outDir}/final si existe, si no ${c.model}`),
      bool('compare', 'cuento del modelo base y del afinado lado a lado'),
      str('base', 'DIR_O_ID', 'con --compare: modelo base', (c) => `el del training_summary.json del afinado, si no ${c.model}`),
      textFlag, text, startAt, evalLines, out, seed, ...generation, backend, threads, json,
    ],
  },
  {
    name: 'demo',
    summary: 'entrenar y comparar los cuentos antes/después (lo que hace npm run demo)',
    usage: 'quijote demo [opciones]',
    flags: [
      ...training, model, text, startAt, evalLines, out, prompt, seed, ...generation, backend, threads,
      bool('merged', 'con LoRA, escribe también la copia completa fusionada (model.safetensors) además del adaptador'), json,
    ],
  },
  {
    name: 'score',
    summary: 'pérdida media y perplejidad de un texto',
    usage: 'quijote score [--model DIR_O_ID] "texto"',
    positional: 'el texto',
    flags: [model, textFlag, backend, threads, json],
  },
  {
    name: 'tokenize',
    summary: 'ids de los tokens de un texto',
    usage: 'quijote tokenize [--model DIR_O_ID] "texto"',
    positional: 'el texto',
    // tokenize runs no model; --backend is accepted so that scripts can pass it to every command
    flags: [model, textFlag, str('backend', BACKENDS, 'sin efecto aquí (tokenize no usa el motor)'), json],
  },
  {
    name: 'generate',
    summary: 'texto libre a partir de un comienzo',
    usage: 'quijote generate --prompt "…" [opciones]',
    flags: [model, prompt, bool('greedy', 'decodificación voraz (sin muestreo)'), seed, ...generation, backend, threads, json],
  },
  {
    name: 'download',
    summary: 'descarga el modelo base a la caché de Hugging Face y el libro a DATA_DIR, para trabajar sin conexión',
    usage: 'quijote download [--model ID] [--text]',
    flags: [
      str('model', 'ID', 'modelo del Hub que se descarga (sin --text: solo el modelo)', (c) => c.model),
      bool('text', 'descarga el libro (sin --model: solo el libro; sin ninguna de las dos: ambos)'),
      json,
    ],
  },
  {
    name: 'backup',
    summary: 'copia en caliente de DATA_DIR/quijote.sqlite (copia en línea de SQLite, comprobada con integrity_check)',
    usage: 'quijote backup [--out FICHERO.sqlite] [--json]',
    flags: [str('out', 'FICHERO.sqlite', 'dónde se guarda la copia (nunca se sobrescribe)', (c) => `${c.dataDir}/backups/quijote-<fecha>.sqlite`), json],
  },
  {
    name: 'store',
    summary: 'lleva los datos de un bot (SQLite) a la base PostgreSQL del distrito y sus modelos al almacén compartido',
    usage: 'quijote store copy sqlite:CARPETA_DATA postgres://usuario@host/base [file:///almacen/modelos] [--json]',
    positional: 'copy, el origen, el destino y (opcional) el almacén de modelos',
    flags: [json],
  },
  {
    name: 'bench',
    summary: 'rendimiento de entrenamiento y generación (ver bench/README.md)',
    usage: 'quijote bench [--json] [--only CARGAS] [opciones]',
    flags: [
      str('only', 'CARGAS', 'cargas separadas por comas (mini-train, 124m-lora, 124m-full, mini-generate, 124m-generate, memory-generate, memory-train, class-train-124m, two-models-124m)', () => 'las de bench/suite.ts'),
      str('steps', 'N', 'pasos medidos por carga', () => '5'),
      str('batch-size', 'N', 'bloques por lote', () => '2'),
      str('max-new-tokens', 'N', 'tokens por generación', () => '160'),
      str('rounds', 'N', 'class-train-124m: rondas /train + /story + /score seguidas (crecimiento de memoria)', () => '1'),
      str('lines', 'N', 'class-train-124m: primeras N líneas del Quijote para entrenar', () => '100'),
      str('eval-lines', 'N', 'class-train-124m: últimas líneas del libro reservadas para evaluar', (c) => String(c.ml.evalLines)),
      str('class-model', 'CARPETA', 'class-train-124m / two-models-124m: carpeta con la forma del 124M', () => 'una que escribe bench/random-model.ts'),
      str('seed', 'N', 'semilla', () => '0'),
      str('model', 'CARPETA', 'modelo de las cargas mini', (c) => `${c.sharedDir}/models/es-novelas-mini`),
      bool('with-torch', 'ejecuta también la referencia de PyTorch en la misma corrida'),
      str('out', 'CARPETA|FICHERO.json', 'dónde se guarda el informe', () => 'bench/results/'),
      backend, threads, json,
    ],
  },
];

/** Flags every command accepts. */
export const COMMON_FLAGS: FlagSpec[] = [bool('help', 'esta ayuda'), bool('version', 'la versión de quijote y de Node')];

export function commandSpec(name: string): CommandSpec | undefined {
  return COMMAND_SPECS.find((c) => c.name === name);
}
