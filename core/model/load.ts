/**
 * Loads a local Hugging Face GPT-2 folder: config.json, weights (safetensors, sharded or pytorch_model.bin),
 * and the tokenizer. A missing or broken folder fails with one clear line.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { QuijoteError } from '../errors.ts';
import { readStateDict } from './checkpoint.ts';
import { parseGPT2Config } from './config.ts';
import type { GPT2 } from './gpt2.ts';
import { buildModel } from './params.ts';
import { loadTokenizer, type TextTokenizer } from './tokenizer.ts';

export interface LoadedModel {
  dir: string;
  model: GPT2;
  tokenizer: TextTokenizer;
  configJson: Record<string, unknown>;
}

export async function readConfigJson(dir: string): Promise<Record<string, unknown>> {
  const path = join(dir, 'config.json');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new QuijoteError('MODEL_NOT_FOUND', `No hay config.json en ${dir}.`, {
      hint: 'Pasa --model con una carpeta de Hugging Face (config.json + pesos + tokenizer) o un id del Hub.',
    });
  }
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new QuijoteError('MODEL_CORRUPT', `${path} no es JSON válido.`, { hint: 'Vuelve a descargar el modelo.' });
  }
}

export async function loadModelFolder(dir: string, opts: { trainable?: boolean } = {}): Promise<LoadedModel> {
  const configJson = await readConfigJson(dir);
  const config = parseGPT2Config(configJson, join(dir, 'config.json'));
  const sd = await readStateDict(dir);
  const tokenizer = await loadTokenizer(dir);
  const model = buildModel(config, sd, { trainable: opts.trainable, source: dir });
  return { dir, model, tokenizer, configJson };
}
