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
import { copyFile, mkdir, rename, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
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
  /** LoRA: also write the adapter merged into a full model.safetensors (~500 MB for the 124M). */
  mergedCopy?: boolean;
}

const json = (v: unknown) => JSON.stringify(v, null, 2) + '\n';

export async function saveFineTuned(o: SaveOptions): Promise<string> {
  await mkdir(o.outDir, { recursive: true });
  if (!o.lora || o.mergedCopy) {
    const sd = await exportStateDict(o.model, o.lora);
    const prefixed: StateDict = new Map([...sd].map(([k, v]) => [k.startsWith('lm_head.') ? k : `transformer.${k}`, v]));
    await writeSafetensors(join(o.outDir, 'model.safetensors'), prefixed, { format: 'pt' });
    await writeFile(join(o.outDir, 'config.json'), json(toHFConfig(o.model.config, o.configJson)));
  }
  await writeFile(join(o.outDir, 'generation_config.json'), json(o.generationConfig));
  for (const f of TOKENIZER_FILES) {
    if (existsSync(join(o.baseDir, f))) await copyFile(join(o.baseDir, f), join(o.outDir, f));
  }
  if (o.lora && o.loraOptions) {
    const { config, tensors } = await peftAdapter(o.lora, o.loraOptions, o.baseModelName);
    await writeFile(join(o.outDir, 'adapter_config.json'), json(config));
    await writeSafetensors(join(o.outDir, 'adapter_model.safetensors'), tensors, { format: 'pt' });
  }
  await writeSummary(o.outDir, o.summary);
  return o.outDir;
}

/** (Re)writes training_summary.json, e.g. once the after-training loss is known. */
export async function writeSummary(outDir: string, summary: Record<string, unknown>): Promise<void> {
  const tmp = join(outDir, 'training_summary.json.tmp');
  await writeFile(tmp, json(summary));
  await rename(tmp, join(outDir, 'training_summary.json'));
}
