/**
 * Saves a fine-tuned model as a Hugging Face folder that `GPT2LMHeadModel.from_pretrained` loads: config.json,
 * model.safetensors (GPT-2's tensor names and Conv1D layout, LoRA merged in), the tokenizer files,
 * generation_config.json and training_summary.json; with LoRA also PEFT's adapter_config.json and
 * adapter_model.safetensors.
 */
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
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
}

const json = (v: unknown) => JSON.stringify(v, null, 2) + '\n';

export async function saveFineTuned(o: SaveOptions): Promise<string> {
  await mkdir(o.outDir, { recursive: true });
  const sd = await exportStateDict(o.model, o.lora);
  const prefixed: StateDict = new Map([...sd].map(([k, v]) => [k.startsWith('lm_head.') ? k : `transformer.${k}`, v]));
  await writeSafetensors(join(o.outDir, 'model.safetensors'), prefixed, { format: 'pt' });
  await writeFile(join(o.outDir, 'config.json'), json(toHFConfig(o.model.config, o.configJson)));
  await writeFile(join(o.outDir, 'generation_config.json'), json(o.generationConfig));
  for (const f of TOKENIZER_FILES) {
    if (existsSync(join(o.baseDir, f))) await copyFile(join(o.baseDir, f), join(o.outDir, f));
  }
  if (o.lora && o.loraOptions) {
    const { config, tensors } = await peftAdapter(o.lora, o.loraOptions, o.baseModelName);
    await writeFile(join(o.outDir, 'adapter_config.json'), json(config));
    await writeSafetensors(join(o.outDir, 'adapter_model.safetensors'), tensors, { format: 'pt' });
  }
  await writeFile(join(o.outDir, 'training_summary.json'), json(o.summary));
  return o.outDir;
}
