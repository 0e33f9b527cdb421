/**
 * Saves a fine-tuned model as a Hugging Face folder.
 * - Full fine-tuning: config.json and model.safetensors (GPT-2's tensor names and Conv1D layout), which
 *   `GPT2LMHeadModel.from_pretrained` loads.
 * - LoRA: PEFT's adapter_config.json and adapter_model.safetensors (1.2 MB for the 124M), which
 *   `PeftModel.from_pretrained(base, dir)` / `AutoPeftModelForCausalLM.from_pretrained(dir)` load and the engine
 *   applies to its resident base model; plus, only when `mergedCopy` is asked (the CLI does), config.json and a
 *   merged model.safetensors for `from_pretrained` without PEFT.
 * Always: the tokenizer files, generation_config.json and training_summary.json.
 */
import { copyFile, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { QuijoteError } from '../errors.ts';
import { join } from 'node:path';
import type { StateDict } from '../model/checkpoint.ts';
import { toHFConfig } from '../model/config.ts';
import type { GPT2, LoraSet } from '../model/gpt2.ts';
import { exportStateDict } from '../model/params.ts';
import { writeSafetensors } from '../model/safetensors.ts';
import { peftAdapter, type LoraOptions } from './lora.ts';

const TOKENIZER_FILES = ['tokenizer.json', 'vocab.json', 'merges.txt', 'tokenizer_config.json', 'special_tokens_map.json'];

export interface SaveOptions {
  outDir: string;
  model: GPT2;
  lora: LoraSet | null;
  loraOptions?: LoraOptions;
  baseDir: string; // where the tokenizer files come from
  baseModelName: string;
  configJson: Record<string, unknown>;
  generationConfig: Record<string, unknown>;
  summary: Record<string, unknown>;
  /** The writes, injectable so tests can fail one of them (a full disk). */
  files?: Partial<SaveFiles>;
  /** LoRA: also write the adapter merged into a full model.safetensors (~500 MB for the 124M). */
  mergedCopy?: boolean;
}

export interface SaveFiles {
  writeFile(path: string, data: string): Promise<void>;
  copyFile(from: string, to: string): Promise<void>;
  writeTensors(path: string, tensors: StateDict): Promise<void>;
}

const realFiles: SaveFiles = {
  writeFile: (p, d) => writeFile(p, d),
  copyFile: (a, b) => copyFile(a, b),
  writeTensors: (p, t) => writeSafetensors(p, t, { format: 'pt' }),
};

const NO_SPACE_CODES = new Set(['ENOSPC', 'EDQUOT', 'EFBIG']);

const json = (v: unknown) => JSON.stringify(v, null, 2) + '\n';

/**
 * Writes the folder. If any write fails (a full disk: ENOSPC, a quota), the partial folder is removed, so a broken
 * model can never become a class's model; a full disk is reported as NO_SPACE in Spanish.
 */
export async function saveFineTuned(o: SaveOptions): Promise<string> {
  const f: SaveFiles = { ...realFiles, ...o.files };
  const existed = existsSync(o.outDir);
  try {
    await mkdir(o.outDir, { recursive: true });
    await writeFolder(o, f);
  } catch (e) {
    if (!existed) await rm(o.outDir, { recursive: true, force: true }).catch(() => undefined);
    const code = (e as { code?: unknown } | null)?.code;
    if (typeof code === 'string' && NO_SPACE_CODES.has(code)) {
      throw new QuijoteError('NO_SPACE', `No queda espacio en el disco para guardar el modelo en ${o.outDir} (${code}); se borró la copia a medias.`, {
        cause: e,
        hint: 'Libera espacio (por ejemplo baja KEEP_RUNS para guardar menos entrenamientos antiguos) y vuelve a entrenar; el modelo anterior de la clase sigue activo.',
      });
    }
    throw e;
  }
  return o.outDir;
}

/**
 * The weight files of a model folder. A save removes those of an earlier model in the same folder first: a full
 * fine-tune written over a LoRA run's folder (the CLI's default `gpt2_es_quijote_minift/final`, another base) would
 * otherwise keep the stale adapter, which loaders prefer.
 */
const WEIGHT_FILES = ['model.safetensors', 'pytorch_model.bin', 'config.json', 'adapter_config.json', 'adapter_model.safetensors'];

async function writeFolder(o: SaveOptions, f: SaveFiles): Promise<void> {
  for (const file of WEIGHT_FILES) await rm(join(o.outDir, file), { force: true });
  if (!o.lora || o.mergedCopy) {
    const sd = await exportStateDict(o.model, o.lora);
    const prefixed: StateDict = new Map([...sd].map(([k, v]) => [k.startsWith('lm_head.') ? k : `transformer.${k}`, v]));
    await f.writeTensors(join(o.outDir, 'model.safetensors'), prefixed);
    await f.writeFile(join(o.outDir, 'config.json'), json(toHFConfig(o.model.config, o.configJson)));
  }
  await f.writeFile(join(o.outDir, 'generation_config.json'), json(o.generationConfig));
  for (const file of TOKENIZER_FILES) {
    if (existsSync(join(o.baseDir, file))) await f.copyFile(join(o.baseDir, file), join(o.outDir, file));
  }
  if (o.lora && o.loraOptions) {
    const { config, tensors } = await peftAdapter(o.lora, o.loraOptions, o.baseModelName);
    await f.writeFile(join(o.outDir, 'adapter_config.json'), json(config));
    await f.writeTensors(join(o.outDir, 'adapter_model.safetensors'), tensors);
  }
  await f.writeFile(join(o.outDir, 'training_summary.json'), json(o.summary));
}

/** (Re)writes training_summary.json, e.g. once the after-training loss is known. */
export async function writeSummary(outDir: string, summary: Record<string, unknown>): Promise<void> {
  const tmp = join(outDir, 'training_summary.json.tmp');
  await writeFile(tmp, json(summary));
  await rename(tmp, join(outDir, 'training_summary.json'));
}
