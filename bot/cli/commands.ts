/** The CLI's sub-commands. Each returns an exit code; `--json` outputs are stable (see README). */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { AppConfig } from '../../config/index.ts';
import { QuijoteError } from '../../core/errors.ts';
import { hubOptionsFromEnv, resolveModel } from '../../core/model/hub.ts';
import { loadTokenizer } from '../../core/model/tokenizer.ts';
import { createEngine, type QuijoteEngine, type EngineSettings } from '../../core/pipeline/tfjs-engine.ts';
import { generate } from '../../core/sample/generate.ts';
import { intFlag, settingsFrom, type Flags } from './args.ts';
import { backupStore } from './backup.ts';
import { download } from './download.ts';
import { downloadLine, statusWriter, trainLine } from './progress.ts';
import { teacherTextFromFlags } from './teacher-text.ts';

export interface CliContext { config: AppConfig; positionals: string[]; flags: Flags }
type Command = (c: CliContext) => Promise<number>;

const out = (s: string) => process.stdout.write(s + '\n');
const err = (s: string) => process.stderr.write(s + '\n');
const printJson = (v: unknown) => out(JSON.stringify(v));

export function makeEngine(settings: EngineSettings, json = false, libraryPath: string | null = null): QuijoteEngine {
  const status = statusWriter(process.stderr, () => Date.now(), 2000); // off a TTY, a download line every 2 s
  return createEngine(settings, {
    now: () => performance.now(),
    date: () => new Date(),
    log: json ? () => {} : (l) => err(`· ${l}`),
    onDownload: (p) => status((columns) => downloadLine(p, columns), p.total !== null && p.bytes >= p.total),
    libraryPath: libraryPath ?? undefined,
  });
}

function textArg(c: CliContext, what: string): string {
  const t = c.positionals.length ? c.positionals.join(' ') : c.flags.prompt; // never trimmed: spaces are tokens too
  if (!t || !t.trim()) throw new QuijoteError('BAD_ARGUMENT', `Falta ${what}.`, { hint: 'Pásalo entre comillas, p. ej. quijote score "En un lugar de la Mancha".' });
  return t;
}

const finalDir = (c: CliContext) => resolve(c.flags.out ?? c.config.outDir, 'final');

/**
 * --model DIR may be a LoRA adapter folder (what /train and `quijote demo` save): the engine then loads the base
 * it was trained from (training_summary.json, or --base) and applies the adapter to it.
 */
function servedModel(c: CliContext, dir: string | undefined): { model: string; classDir: string | null } {
  if (dir && existsSync(join(dir, 'adapter_config.json')) && !existsSync(join(dir, 'config.json'))) {
    return { model: c.flags.base ?? trainedFrom(dir).base_model ?? c.config.model, classDir: resolve(dir) };
  }
  return { model: dir ?? c.flags.model ?? c.config.model, classDir: null };
}

const score: Command = async (c) => {
  const served = servedModel(c, c.flags.model);
  const engine = makeEngine({ ...settingsFrom(c.config, c.flags), model: served.model }, c.flags.json, c.config.libraryPath);
  const r = await engine.score(textArg(c, 'el texto'), served.classDir);
  if (c.flags.json) printJson(r);
  else out(`tokens: ${r.tokens}\nloss: ${r.loss.toFixed(4)}\nperplejidad: ${r.perplexity.toFixed(2)}`);
  return 0;
};

const tokenize: Command = async (c) => {
  const s = settingsFrom(c.config, c.flags);
  const dir = await resolveModel(s.model, hubOptionsFromEnv(s.hf, homedir()));
  const ids = (await loadTokenizer(dir)).encode(textArg(c, 'el texto'));
  if (c.flags.json) printJson({ ids });
  else out(ids.join(' '));
  return 0;
};

const generateCmd: Command = async (c) => {
  const engine = makeEngine(settingsFrom(c.config, c.flags), c.flags.json, c.config.libraryPath);
  const { base } = await engine.ready();
  const prompt = c.flags.prompt ?? textArg(c, 'el prompt (--prompt)');
  const promptIds = base.tokenizer.encode(prompt);
  const cfg = engine.generationConfig({ do_sample: !c.flags.greedy, eos_token_id: base.tokenizer.eosTokenId });
  if (!c.flags.json) process.stdout.write(prompt);
  let shown = '';
  const r = await generate(base.model, promptIds, cfg, {
    onToken: (_id, ids) => {
      if (c.flags.json) return;
      const text = base.tokenizer.decode(ids.slice(promptIds.length) as number[]);
      if (text.startsWith(shown) && !text.endsWith('\uFFFD')) { process.stdout.write(text.slice(shown.length)); shown = text; }
    },
  });
  const text = base.tokenizer.decode(r.newIds);
  if (c.flags.json) printJson({ prompt, text, ids: r.ids, new_tokens: r.newIds.length, stopped_by: r.stoppedBy });
  else out(text.slice(shown.length));
  return 0;
};

/** `merged`: LoRA also writes a merged model.safetensors (`quijote train`, for from_pretrained without PEFT). */
export async function runTraining(c: CliContext, engine: QuijoteEngine, merged = true) {
  const status = statusWriter(process.stderr, () => Date.now()); // off a TTY, one line per optimizer step
  const s = engine.settings;
  const controller = new AbortController();
  const onSigint = () => { err('\ncancelando al final del paso actual…'); controller.abort(); };
  process.once('SIGINT', onSigint);
  try {
    const method = c.flags.method && c.flags.method !== 'auto' ? (c.flags.method as 'full' | 'lora') : undefined;
    const text = teacherTextFromFlags(c.config, c.flags);
    return await engine.finetune({ lines: s.ml.nLines, method, blockSize: s.ml.blockSize, mergedCopy: merged || c.flags.merged === true, ...(text ? { text } : {}) }, finalDir(c), {
      signal: controller.signal,
      onProgress: c.flags.json ? undefined : (p) => status((columns) => trainLine(p, columns), p.step === p.totalSteps),
    });
  } finally {
    process.off('SIGINT', onSigint);
  }
}

const train: Command = async (c) => {
  const engine = makeEngine(settingsFrom(c.config, c.flags), c.flags.json, c.config.libraryPath);
  const r = await runTraining(c, engine);
  const backend = (await engine.ready()).backend.name;
  if (c.flags.json) {
    printJson({
      lines: r.lines, epochs: r.epochs, lr: r.lr, method: r.method, backend, block_size: r.blockSize, train_blocks: r.trainBlocks,
      eval_blocks: r.evalBlocks, optimizer_steps: r.optimizerSteps, eval_loss_before: r.evalLossBefore, eval_loss_after: r.evalLossAfter,
      perplexity_before: r.perplexityBefore, perplexity_after: r.perplexityAfter, seconds: r.seconds, tokens_per_second: r.tokensPerSecond,
      model_dir: r.modelDir,
      ...(r.teacherEval ? {
        teacher_text: {
          name: r.teacherEval.name, quijote_lines: r.quijoteLines, teacher_lines: r.teacherLines, eval_lines: r.teacherEval.lines,
          eval_loss_before: r.teacherEval.lossBefore, eval_loss_after: r.teacherEval.lossAfter,
          perplexity_before: r.teacherEval.perplexityBefore, perplexity_after: r.teacherEval.perplexityAfter,
        },
      } : {}),
    });
  } else {
    out(`eval_loss: ${r.evalLossBefore.toFixed(4)} → ${r.evalLossAfter.toFixed(4)}  (perplejidad ${r.perplexityBefore.toFixed(1)} → ${r.perplexityAfter.toFixed(1)})`);
    const te = r.teacherEval;
    if (te) out(`${te.name}: ${r.quijoteLines} líneas del Quijote + ${r.teacherLines} del texto; eval_loss en sus ${te.lines} últimas líneas: ${te.lossBefore.toFixed(4)} → ${te.lossAfter.toFixed(4)}  (perplejidad ${te.perplexityBefore.toFixed(1)} → ${te.perplexityAfter.toFixed(1)})`);
    out(`${r.optimizerSteps} pasos en ${r.seconds.toFixed(1)} s (${r.tokensPerSecond.toFixed(0)} tok/s, ${r.method}, ${backend}) · guardado en ${r.modelDir}`);
  }
  return 0;
};

/** What a fine-tuned folder's training_summary.json says about its base model and text (when it exists). */
function trainedFrom(tunedDir: string): { base_model?: string; text?: string } {
  try {
    return JSON.parse(readFileSync(join(tunedDir, 'training_summary.json'), 'utf8')) as { base_model?: string; text?: string };
  } catch {
    return {}; // no summary: fall back to the configuration
  }
}

/**
 * Both stories and both eval losses. `known`: losses the caller already has (the demo's training computed them);
 * otherwise the engine's evalLoss, which reads the base's from the eval-loss cache and the class model's from its
 * training_summary.json when they were measured on the same eval set.
 */
export async function compareStories(c: CliContext, prompt: string, tunedDir: string, engine?: QuijoteEngine, known?: { base: number; tuned: number }) {
  const from = trainedFrom(tunedDir);
  const s0 = settingsFrom(c.config, c.flags);
  // Same base model and same evaluation text as the training, unless the flags say otherwise.
  const settings: EngineSettings = {
    ...s0,
    model: c.flags.base ?? from.base_model ?? c.config.model,
    text: { ...s0.text, file: c.flags.text ?? c.config.text.file ?? (from.text && existsSync(from.text) ? from.text : null) },
  };
  const e = engine ?? makeEngine(settings, c.flags.json, c.config.libraryPath);
  const seed = intFlag(c.flags, 'seed', settings.ml.seed);
  const [before, after] = [await e.story(prompt, null, { seed }), await e.story(prompt, tunedDir, { seed })];
  const [lossBefore, lossAfter] = known ? [known.base, known.tuned] : [await e.evalLoss(null), await e.evalLoss(tunedDir)];
  return {
    prompt,
    base: { model: settings.model, ...before, eval_loss: lossBefore, perplexity: Math.exp(lossBefore) },
    finetuned: { model: tunedDir, ...after, eval_loss: lossAfter, perplexity: Math.exp(lossAfter) },
  };
}

export function printComparison(r: Awaited<ReturnType<typeof compareStories>>): void {
  const block = (title: string, s: typeof r.base) => {
    out(`\n── ${title} · perplejidad en el conjunto de evaluación: ${s.perplexity.toFixed(1)} ──`);
    out(s.text);
    if (!s.complete) out(`(solo ${s.sentences} oraciones: sube --max-new-tokens a ~220 o baja --temperature a 0.8)`);
  };
  out(`Prompt: ${r.prompt}`);
  block(`ANTES (modelo base: ${r.base.model})`, r.base);
  block(`DESPUÉS (afinado: ${r.finetuned.model})`, r.finetuned);
}

const story: Command = async (c) => {
  const prompt = textArg(c, 'el prompt');
  const tuned = c.flags.model ? resolve(c.flags.model) : finalDir(c);
  if (c.flags.compare) {
    if (!existsSync(join(tuned, 'config.json')) && !existsSync(join(tuned, 'adapter_config.json'))) {
      throw new QuijoteError('MODEL_NOT_FOUND', `No hay modelo afinado en ${tuned}.`, { hint: 'Entrena primero con `quijote train --lines 100` o pasa --model CARPETA.' });
    }
    const r = await compareStories(c, prompt, tuned);
    if (c.flags.json) printJson(r); else printComparison(r);
    return 0;
  }
  const found = c.flags.model ?? (existsSync(join(tuned, 'config.json')) || existsSync(join(tuned, 'adapter_config.json')) ? tuned : undefined);
  const served = servedModel(c, found);
  const model = served.classDir ?? served.model;
  const engine = makeEngine({ ...settingsFrom(c.config, c.flags), model: served.model }, c.flags.json, c.config.libraryPath);
  const r = await engine.story(prompt, served.classDir, { seed: intFlag(c.flags, 'seed', c.config.ml.seed) });
  if (c.flags.json) printJson({ model, ...r });
  else {
    out(r.text);
    if (!r.complete) err(`(solo ${r.sentences} oraciones: sube --max-new-tokens a ~220 o baja --temperature a 0.8)`);
  }
  return 0;
};

const demo: Command = async (c) => {
  const settings = settingsFrom(c.config, c.flags);
  const engine = makeEngine(settings, c.flags.json, c.config.libraryPath);
  try {
    await engine.ready();
  } catch (e) {
    if (e instanceof QuijoteError && ['OFFLINE', 'DOWNLOAD_FAILED', 'MODEL_NOT_FOUND'].includes(e.code)) {
      throw new QuijoteError(e.code, `${e.message.split('\n')[0]}`, {
        hint: 'Sin conexión, usa un modelo y un texto locales: npm run demo -- --model ../shared/models/es-novelas-mini --text ../shared/data/pg2000-don-quijote.txt',
      });
    }
    throw e;
  }
  const r = await runTraining(c, engine, false); // the demo serves the LoRA adapter; --merged also writes the full copy
  if (!c.flags.json) out(`eval_loss: ${r.evalLossBefore.toFixed(4)} → ${r.evalLossAfter.toFixed(4)} (${r.optimizerSteps} pasos, ${r.seconds.toFixed(1)} s)`);
  const cmp = await compareStories({ ...c, flags: { ...c.flags, base: settings.model } }, c.flags.prompt ?? c.config.defaultPrompt, r.modelDir, engine,
    { base: r.evalLossBefore, tuned: r.evalLossAfter });
  if (c.flags.json) printJson({ train: { ...r, trainLines: undefined }, stories: cmp }); else printComparison(cmp);
  return 0;
};

const bench: Command = async (c) => {
  const { runBench } = await import('../../bench/run.ts' as string) as { runBench: (c: CliContext) => Promise<number> };
  return runBench(c);
};

const store: Command = async (c) => (await import('./store.ts')).storeCommand(c);

const backup: Command = async (c) => {
  const r = await backupStore(c.config, c.flags.out);
  if (c.flags.json) printJson(r);
  else out(`copia hecha: ${r.backup} (${r.pages} páginas, ${r.polls} votaciones, ${r.votes} votos; integrity_check ok)`);
  return 0;
};

export const COMMANDS: Record<string, Command> = { score, tokenize, generate: generateCmd, train, story, demo, download, bench, backup, store };
