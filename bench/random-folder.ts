/**
 * A Hugging Face GPT-2 folder with the 124M shape (12 layers, 768 wide, 50257 tokens, 1024 positions) and random
 * weights, with the tokenizer files of another folder: a stand-in for datificate/gpt2-small-spanish where the Hub
 * cannot be reached (`bench/random-model.ts`, and the `class-train-124m` workload). ~500 MB of float32.
 */
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { GPT2_124M, toHFConfig } from '../core/model/config.ts';
import type { StateDict } from '../core/model/checkpoint.ts';
import { disposeModel, exportStateDict, randomModel } from '../core/model/params.ts';
import { writeSafetensors } from '../core/model/safetensors.ts';

const TOKENIZER_FILES = ['tokenizer.json', 'vocab.json', 'merges.txt', 'tokenizer_config.json', 'special_tokens_map.json', 'generation_config.json'];

/** Writes the folder (on the current tfjs backend) unless it already holds a model.safetensors. */
export async function writeRandomModelFolder(out: string, tokenizerFrom: string, seed = 0): Promise<string> {
  if (existsSync(join(out, 'model.safetensors')) && existsSync(join(out, 'config.json'))) return out;
  const model = await randomModel(GPT2_124M, { seed });
  const sd = await exportStateDict(model);
  disposeModel(model);
  await mkdir(out, { recursive: true });
  const prefixed: StateDict = new Map([...sd].map(([k, v]) => [`transformer.${k}`, v]));
  await writeFile(join(out, 'config.json'), JSON.stringify(toHFConfig(GPT2_124M, { architectures: ['GPT2LMHeadModel'] }), null, 2) + '\n');
  for (const f of TOKENIZER_FILES) {
    const from = join(tokenizerFrom, f);
    if (existsSync(from)) await copyFile(from, join(out, f));
  }
  await writeSafetensors(join(out, 'model.safetensors'), prefixed, { format: 'pt' }); // last: its presence marks the folder complete
  return out;
}
