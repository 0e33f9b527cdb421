/**
 * The ML engine behind the CLI and the bot (implements core/engine.ts): backend start-up, the base model
 * loaded once, the book's lines, fine-tuning into a folder, stories and scores from the base model or a
 * fine-tuned folder. Everything from the outside world (settings, clock, fetch, log) comes in as arguments.
 */
import * as tf from '@tensorflow/tfjs-core';
import { existsSync, readFileSync } from 'node:fs';
import { cpus, homedir } from 'node:os';
import { join } from 'node:path';
import { initBackend, type BackendInfo, type BackendRequest } from '../backend.ts';
import type { Engine, GpuSlice, ScoreResult, StoryResult, TrainingText, TrainParams, TrainResult, TrainOptions } from '../engine.ts';
import { QuijoteError } from '../errors.ts';
import { hubOptionsFromEnv, resolveModel, type HubProgress } from '../model/hub.ts';
import { loadModelFolder, type LoadedModel } from '../model/load.ts';
import { disposeModel } from '../model/params.ts';
import { generate } from '../sample/generate.ts';
import type { GenerationConfig } from '../sample/processors.ts';
import { samplingConfig } from '../sample/knobs.ts';
import { mapOutOfMemory } from '../oom.ts';
import { cutStory } from '../story/sentences.ts';
import { groupTexts } from '../text/dataset.ts';
import { bookLoader } from '../text/book.ts';
import { writeSelectedLines } from '../text/source.ts';
import { EVAL_BATCH, evaluateLoss, lossSum } from '../train/loss.ts';
import { ADAPTER_CONFIG, ADAPTER_WEIGHTS, disposeLora, loadAdapter } from '../train/lora.ts';
import type { LoraSet } from '../model/gpt2.ts';
import { evalKey, evalLossCache, modelFingerprint } from './eval-cache.ts';
import { finetune, type FinetuneParams, type FinetuneSummary } from './finetune.ts';
import { evalBlocksOf, teacherTrainingSet } from '../text/teacher-mix.ts';
import { teacherTextHash } from '../text/teacher-store.ts';
import { createInspector } from '../inspect/inspector.ts';
import type { TrainConfig } from '../train/trainer.ts';

/** What the engine needs from the configuration (config/index.ts's AppConfig fits; the CLI overrides fields). */
export interface EngineSettings {
  model: string;
  backend: BackendRequest;
  /** XNNPACK threads for wasm: 0 or absent = one per CPU. */
  wasmThreads?: number;
  /** WebGPU matmul (config WEBGPU_MATMUL): ours, tiled, by default. */
  webgpuMatmul?: 'tiled' | 'tfjs';
  text: { file: string | null; url: string; startAt: RegExp | null };
  dataDir: string;
  hf: Readonly<Record<string, string | undefined>>;
  ml: {
    nLines: number; epochs: number; lr: number; blockSize: number; trainBatchSize: number; gradAccum: number;
    maxNewTokens: number; temperature: number; topK: number; topP: number; repetitionPenalty: number;
    evalLines: number; seed: number; warmupSteps: number; weightDecay: number; method: 'auto' | 'full' | 'lora';
    lora: { rank: number; alpha: number; dropout: number; targets: readonly string[]; lr?: number };
  };
}

export interface EngineDeps {
  now: () => number; // milliseconds
  /** Wall-clock date for the eval-loss cache's entries (default: new Date(0), i.e. unknown). */
  date?: () => Date;
  log?: (line: string) => void;
  fetch?: typeof fetch;
  onDownload?: (p: HubProgress) => void;
  libraryPath?: string;
}

export interface QuijoteEngine extends Engine {
  readonly settings: EngineSettings;
  /** Starts the backend and loads the base model (done lazily otherwise). */
  ready(): Promise<{ backend: BackendInfo; base: LoadedModel }>;
  /** Fine-tune with explicit hyper-parameters (CLI); `train` uses the settings' defaults. */
  finetune(params: TrainParams & Partial<TrainConfig> & { blockSize?: number; mergedCopy?: boolean }, outDir: string, options?: TrainOptions): Promise<FinetuneSummary>;
  generationConfig(overrides?: Partial<GenerationConfig>): GenerationConfig;
  /**
   * Eval loss of the base (null) or a class folder on the configured eval lines: the base's from the eval-loss
   * cache when there, a class folder's from its training_summary.json when it was measured on the same set.
   */
  evalLoss(modelDir: string | null, options?: { slice?: GpuSlice }): Promise<number>;
  /** sha256 of the base model's files (the eval-loss cache's key). */
  baseFingerprint(): Promise<string>;
  dispose(): void;
}

/** Full fine-tuning where the backend holds it; LoRA where the wasm/cpu heap would not (124M with Adam). */
export function chooseMethod(requested: 'auto' | 'full' | 'lora', backend: string, parameterCount: number): 'full' | 'lora' {
  if (requested !== 'auto') return requested;
  if (backend === 'tensorflow' || backend === 'webgpu') return 'full';
  // weights + grads + accumulated grads + Adam m and v ≈ 5 copies in float32, plus activations
  return parameterCount * 4 * 5 < 1.2e9 ? 'full' : 'lora';
}

export function createEngine(settings: EngineSettings, deps: EngineDeps): QuijoteEngine {
  const log = deps.log ?? (() => {});
  let started: Promise<{ backend: BackendInfo; base: LoadedModel }> | null = null;
  const tuned = new Map<string, LoadedModel>(); // LRU of fine-tuned folders (most recent last)
  const direct: GpuSlice = (fn) => fn();

  const ready = () => (started ??= (async () => {
    const backend = await initBackend({ request: settings.backend, log, libraryPath: deps.libraryPath, wasmThreads: settings.wasmThreads || cpus().length, webgpuTiledMatmul: settings.webgpuMatmul !== 'tfjs' });
    const hub = hubOptionsFromEnv(settings.hf, homedir());
    const dir = await resolveModel(settings.model, { ...hub, fetch: deps.fetch, onProgress: deps.onDownload, now: deps.now });
    const base = await mapOutOfMemory('loading', () => loadModelFolder(dir));
    log(`modelo base: ${settings.model} (${parameterCount(base)} parámetros)`);
    return { backend, base };
  })().catch((e) => { started = null; throw e; }));

  const bookLines = bookLoader(settings, { fetch: deps.fetch });

  /** What story/score/evalLoss run: a model, its tokenizer and, for a LoRA class model, the adapter on the base. */
  interface Served { model: LoadedModel['model']; tokenizer: LoadedModel['tokenizer']; lora: LoraSet | null }
  const adapters = new Map<string, LoraSet>(); // LRU of class adapters on the resident base (~1.2 MB each)
  let fingerprint: Promise<string> | null = null;
  const baseFingerprint = async () => (fingerprint ??= ready().then(({ base }) => modelFingerprint(base.dir)).catch((e) => { fingerprint = null; throw e; }));
  const readJson = (path: string): Record<string, unknown> | null => {
    try { return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>; } catch { return null; }
  };
  const hasFullWeights = (dir: string) => ['model.safetensors', 'model.safetensors.index.json', 'pytorch_model.bin'].some((f) => existsSync(join(dir, f)));

  /** Is this LoRA folder an adapter of the resident base? (its recorded fingerprint, else the base's name) */
  async function adapterFitsBase(dir: string): Promise<boolean> {
    const summary = readJson(join(dir, 'training_summary.json'));
    if (typeof summary?.base_fingerprint === 'string') return summary.base_fingerprint === await baseFingerprint();
    return readJson(join(dir, ADAPTER_CONFIG))?.base_model_name_or_path === settings.model;
  }

  async function modelFor(dir: string | null): Promise<Served> {
    const { base } = await ready();
    if (dir === null) return { model: base.model, tokenizer: base.tokenizer, lora: null };
    const isAdapter = existsSync(join(dir, ADAPTER_CONFIG)) && existsSync(join(dir, ADAPTER_WEIGHTS));
    if (isAdapter && (await adapterFitsBase(dir) || !hasFullWeights(dir))) {
      if (!hasFullWeights(dir) && !(await adapterFitsBase(dir))) {
        const named = readJson(join(dir, ADAPTER_CONFIG))?.base_model_name_or_path;
        throw new QuijoteError('MODEL_UNSUPPORTED', `${dir} es un adaptador LoRA de otro modelo base (${String(named)}), no de ${settings.model}.`, {
          hint: 'Vuelve a entrenar con /train (o quijote train) con el modelo base actual, o arranca con el modelo base del adaptador.',
        });
      }
      let lora = adapters.get(dir);
      if (lora) adapters.delete(dir);
      else lora = (await loadAdapter(dir, base.model)).lora;
      adapters.set(dir, lora);
      while (adapters.size > 8) {
        const [oldest, l] = adapters.entries().next().value as [string, LoraSet];
        adapters.delete(oldest);
        disposeLora(l);
      }
      return { model: base.model, tokenizer: base.tokenizer, lora };
    }
    const hit = tuned.get(dir);
    if (hit) { tuned.delete(dir); tuned.set(dir, hit); return { model: hit.model, tokenizer: hit.tokenizer, lora: null }; }
    const loaded = await mapOutOfMemory('loading', () => loadModelFolder(dir));
    tuned.set(dir, loaded);
    while (tuned.size > 1) { // one full fine-tuned model besides the base: the wasm heap is 4 GiB
      const [oldest, m] = tuned.entries().next().value as [string, LoadedModel];
      tuned.delete(oldest);
      disposeModel(m.model);
    }
    return { model: loaded.model, tokenizer: loaded.tokenizer, lora: null };
  }

  /** The eval lines as blocks for a tokenizer, and their identity for the caches. */
  async function evalSet(tokenizer: LoadedModel['tokenizer'], nPositions: number): Promise<{ blocks: number[][]; key: string }> {
    const { lines } = await bookLines();
    const blockSize = Math.min(settings.ml.blockSize, nPositions);
    const evalText = lines.slice(lines.length - settings.ml.evalLines).join('\n');
    return { blocks: groupTexts(tokenizer.encode(evalText), blockSize), key: evalKey(evalText, blockSize) };
  }
  const cache = evalLossCache(settings.dataDir);

  /** The base model's eval loss for `blockSize`: from the cache, or measured (through `slice`) and stored. */
  async function baseEvalLoss(blocks: number[][], key: string, slice?: GpuSlice): Promise<{ loss: number; cached: boolean }> {
    const { base, backend } = await ready();
    const fp = await baseFingerprint();
    const hit = await cache.get(fp, key);
    if (hit !== null) return { loss: hit, cached: true };
    const loss = await mapOutOfMemory('evaluation', () => evaluateLoss(base.model, blocks, { slice }));
    await cache.put(fp, key, { loss, model: settings.model, blocks: blocks.length, backend: backend.name }, deps.date?.() ?? new Date(0))
      .catch((e) => log(`no se pudo guardar la caché de pérdidas en ${settings.dataDir}: ${(e as Error).message}`));
    return { loss, cached: false };
  }

  const generationConfig = (o: Partial<GenerationConfig> = {}): GenerationConfig => ({
    max_new_tokens: settings.ml.maxNewTokens, do_sample: true, temperature: settings.ml.temperature, top_k: settings.ml.topK,
    top_p: settings.ml.topP, repetition_penalty: settings.ml.repetitionPenalty, seed: settings.ml.seed, ...o,
  });

  const engine: QuijoteEngine = {
    settings,
    ready,
    generationConfig,
    describe: () => `${started ? '' : '(sin iniciar) '}${settings.backend} · ${settings.model}`,

    async maxLines() {
      return (await bookLines()).lines.length - settings.ml.evalLines;
    },
    async trainingLines(n) {
      return (await bookLines()).lines.slice(0, n);
    },

    async finetune(params, outDir, options = {}) {
      const { backend, base } = await ready();
      const { lines, source } = await bookLines();
      const ml = settings.ml;
      const method = params.method ?? chooseMethod(ml.method, backend.name, parameterCount(base));
      const trainCfg: TrainConfig = {
        epochs: params.epochs ?? ml.epochs, lr: params.lr ?? (method === 'lora' ? ml.lora.lr ?? ml.lr : ml.lr), batchSize: params.batchSize ?? ml.trainBatchSize,
        gradAccum: params.gradAccum ?? ml.gradAccum, warmupSteps: params.warmupSteps ?? ml.warmupSteps,
        weightDecay: params.weightDecay ?? ml.weightDecay, maxGradNorm: params.maxGradNorm ?? 1.0, seed: params.seed ?? ml.seed,
        method, lora: params.lora ?? { rank: ml.lora.rank, alpha: ml.lora.alpha, dropout: ml.lora.dropout, targets: [...ml.lora.targets] },
      };
      // Training needs the memory more than a cached class model does (124M LoRA peaks near 3.7 GB on wasm).
      await (options.slice ?? direct)(async () => { for (const m of tuned.values()) disposeModel(m.model); tuned.clear(); });
      const blockSize = Math.min(params.blockSize ?? ml.blockSize, base.model.config.nPositions);
      const evalText = lines.slice(lines.length - ml.evalLines).join('\n');
      const key = evalKey(evalText, blockSize);
      const fp = await baseFingerprint();
      const tBefore = deps.now();
      const before = await baseEvalLoss(groupTexts(base.tokenizer.encode(evalText), blockSize), key, options.slice);
      // With a teacher's text: train on the mixed lines (then the Quijote's eval lines, as buildDataset expects)
      // and measure the base on the text's held-out lines too (cached like the Quijote's).
      const mixed = params.text ? teacherTrainingSet(lines, checkedText(params.text), {
        total: params.lines, mix: params.text.mix, seed: trainCfg.seed, evalLines: ml.evalLines, quijoteMax: lines.length - ml.evalLines,
      }) : null;
      let teacherEval: FinetuneParams['teacherEval'];
      if (params.text && mixed) {
        const heldText = mixed.held.join('\n');
        const blocks = evalBlocksOf(base.tokenizer.encode(heldText), blockSize);
        if (blocks.length === 0) throw new QuijoteError('BAD_LINES', `Las ${mixed.held.length} líneas de evaluación de «${params.text.name}» no dan ni dos tokens.`, { hint: 'Usa un texto más largo.' });
        const tb = await baseEvalLoss(blocks, evalKey(heldText, blockSize), options.slice);
        teacherEval = {
          name: params.text.name, hash: params.text.hash, mix: params.text.mix, lines: mixed.held.length, blocks, lossBefore: tb.loss,
          quijoteLines: mixed.quijoteLines, teacherLines: mixed.teacherLines,
        };
      }
      log(`entrenando: ${params.lines} líneas${mixed ? ` (${mixed.quijoteLines} del Quijote, ${mixed.teacherLines} de «${params.text!.name}»)` : ''}, método ${method}, ${trainCfg.epochs} épocas, lr ${trainCfg.lr}, backend ${backend.name}`);
      const t0 = deps.now();
      const trainOn = mixed ? [...mixed.lines, ...lines.slice(lines.length - ml.evalLines)] : lines;
      const summary = await mapOutOfMemory('training', () => finetune(base, trainOn, {
        lines: params.lines, evalLines: ml.evalLines, blockSize, train: trainCfg, outDir,
        baseModelName: settings.model, generation: generationConfig(), textSource: source, backend: backend.name,
        evalLossBefore: before.loss, mergedCopy: params.mergedCopy, evalKey: key, baseFingerprint: fp, teacherEval,
      }, { now: deps.now, onProgress: options.onProgress, signal: options.signal, slice: options.slice, onSaved: options.onSaved }));
      summary.phases.evalBefore = (t0 - tBefore) / 1000; // the cache look-up, or the measurement
      summary.phases.evalBeforeCached = before.cached;
      if (!mixed) await writeSelectedLines(join(outDir, '..'), params.lines, summary.trainLines); // don_quijote_N.txt: Quijote lines only
      return summary;
    },

    async train(params, outDir, options): Promise<TrainResult> {
      const { trainLines: _lines, ...result } = await engine.finetune(params, outDir, options);
      return result;
    },

    // Models are fetched inside the GPU slice: a slice never overlaps another, so a cached model cannot be
    // evicted (disposed) by another class's request while it is generating.
    async story(prompt, modelDir, options = {}): Promise<StoryResult> {
      await ready();
      return (options.slice ?? direct)(() => mapOutOfMemory('generation', async () => {
        const m = await modelFor(modelDir);
        const promptIds = m.tokenizer.encode(prompt);
        checkPromptTokens(promptIds.length, m.model.config.nPositions, settings.ml.maxNewTokens);
        const cfg = generationConfig({ ...samplingConfig(options.sampling), seed: options.seed ?? settings.ml.seed, eos_token_id: m.tokenizer.eosTokenId ?? m.model.config.eosTokenId });
        const out = await generate(m.model, promptIds, cfg, {
          lora: m.lora,
          onToken: (_id, ids) => {
            if (options.signal?.aborted) return true;
            const text = m.tokenizer.decode(ids.slice(promptIds.length) as number[]);
            options.onText?.(text);
            return cutStory(text).complete; // stop once the fifth sentence is closed
          },
        });
        if (options.signal?.aborted) throw new QuijoteError('CANCELLED', 'The story was cancelled.');
        const story = cutStory(m.tokenizer.decode(out.newIds));
        return { prompt, text: story.text, sentences: story.sentences, complete: story.complete, newTokens: out.newIds.length };
      }));
    },

    async score(text, modelDir, options = {}): Promise<ScoreResult> {
      await ready();
      return (options.slice ?? direct)(() => mapOutOfMemory('evaluation', async () => {
        const m = await modelFor(modelDir);
        const ids = m.tokenizer.encode(text).slice(0, m.model.config.nPositions);
        if (ids.length < 2) {
          throw new QuijoteError('BAD_ARGUMENT', 'El texto es demasiado corto para medir su perplejidad.', { hint: 'Escribe al menos unas palabras.' });
        }
        const r = await lossSum(m.model, [ids], m.lora);
        const loss = r.sum / r.count;
        return { tokens: ids.length, loss, perplexity: Math.exp(loss) };
      }));
    },

    baseFingerprint,

    async evalLoss(modelDir, options = {}) {
      const { base } = await ready();
      if (modelDir === null) {
        const { blocks, key } = await evalSet(base.tokenizer, base.model.config.nPositions);
        return (await baseEvalLoss(blocks, key, options.slice)).loss;
      }
      const summary = readJson(join(modelDir, 'training_summary.json'));
      const metrics = summary?.metrics as { eval_loss_after?: unknown } | undefined;
      const { blocks, key } = await (options.slice ?? direct)(async () => {
        const m = await modelFor(modelDir);
        return evalSet(m.tokenizer, m.model.config.nPositions);
      });
      if (summary?.eval_key === key && typeof metrics?.eval_loss_after === 'number') return metrics.eval_loss_after; // measured by the training
      // Each batch takes the model inside its slice: a slice never overlaps another, so it cannot be evicted meanwhile.
      const run: GpuSlice = options.slice ?? direct;
      let sum = 0, count = 0;
      for (let i = 0; i < blocks.length; i += EVAL_BATCH) {
        const r = await run(() => mapOutOfMemory('evaluation', async () => { const m = await modelFor(modelDir); return lossSum(m.model, blocks.slice(i, i + EVAL_BATCH), m.lora); }));
        sum += r.sum; count += r.count;
      }
      return sum / count;
    },

    // Inspection views (core/inspect): the pair is fetched inside each GPU slice, like story and score.
    inspect: createInspector({
      pairFor: async (dir) => {
        const [{ base }, cls] = [await ready(), await modelFor(dir)];
        return { base: { model: base.model }, cls: { model: cls.model, lora: cls.lora }, tokenizer: base.tokenizer };
      },
      heldOutLines: async () => { const { lines } = await bookLines(); return lines.slice(lines.length - settings.ml.evalLines); },
      generationConfig,
      blockSize: settings.ml.blockSize,
    }),

    dispose() {
      for (const m of tuned.values()) disposeModel(m.model);
      tuned.clear();
      for (const l of adapters.values()) disposeLora(l);
      adapters.clear();
    },
  };
  return engine;
}

/**
 * Most prompt tokens a story may start from: the model's positions minus room for the story (MAX_NEW_TOKENS, at
 * most half the positions). Emoji and invisible characters cost several tokens each, so characters do not tell.
 */
export function maxPromptTokens(nPositions: number, maxNewTokens: number): number {
  return nPositions - Math.min(maxNewTokens, Math.ceil(nPositions / 2));
}

function checkPromptTokens(tokens: number, nPositions: number, maxNewTokens: number): void {
  const max = maxPromptTokens(nPositions, maxNewTokens);
  if (tokens > max) {
    throw new QuijoteError('PROMPT_TOO_LONG', `El comienzo ocupa ${tokens} tokens y el modelo admite ${max} para dejar sitio a la historia.`, {
      hint: 'Acórtalo (los emoji y los símbolos poco comunes ocupan varios tokens cada uno).',
    });
  }
}

/** The teacher's lines of a job, after checking that they are the text its hash names. */
function checkedText(text: TrainingText): string[] {
  if (teacherTextHash(text.lines) !== text.hash) {
    throw new QuijoteError('BAD_ARGUMENT', `El texto «${text.name}» del trabajo no coincide con su huella sha256 ${text.hash.slice(0, 12)}….`, { hint: 'Vuelve a adjuntarlo con /train.' });
  }
  if (!(Number.isInteger(text.mix) && text.mix >= 0 && text.mix <= 100)) throw new QuijoteError('BAD_ARGUMENT', `mezcla debe ser un entero entre 0 y 100; recibido: ${text.mix}.`);
  return text.lines;
}

function parameterCount(m: LoadedModel): number {
  return Object.values(m.model.weights).reduce((n, w) => n + w.size, 0);
}
