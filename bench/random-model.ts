/**
 * Writes a Hugging Face GPT-2 folder with the 124M shape (12 layers, 768 wide, 50257 tokens, 1024 positions) and
 * random weights, with the tokenizer files of another folder: a stand-in for datificate/gpt2-small-spanish where
 * the Hub cannot be reached, to time `quijote train` / `demo` (a /train) at the real size. Its stories are noise.
 *
 *   node --import tsx bench/random-model.ts --out DIR [--tokenizer-from DIR] [--seed 0]
 *
 * Runs on tfjs' cpu backend (a few seconds); the folder is ~500 MB (float32 safetensors).
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { GPT2_124M, toHFConfig } from '../core/model/config.ts';
import type { StateDict } from '../core/model/checkpoint.ts';
import { disposeModel, exportStateDict, randomModel } from '../core/model/params.ts';
import { writeSafetensors } from '../core/model/safetensors.ts';

const { values: a } = parseArgs({
  options: {
    out: { type: 'string' },
    'tokenizer-from': { type: 'string', default: resolve(process.env.QUIJOTE_SHARED ?? '../shared', 'models/es-novelas-mini') },
    seed: { type: 'string', default: '0' },
  },
});
if (!a.out) { console.error('falta --out CARPETA'); process.exit(2); }
tf.env().set('PROD', true);
await tf.setBackend('cpu');
const model = await randomModel(GPT2_124M, { seed: Number(a.seed) });
const sd = await exportStateDict(model);
disposeModel(model);
await mkdir(a.out, { recursive: true });
const prefixed: StateDict = new Map([...sd].map(([k, v]) => [`transformer.${k}`, v]));
await writeSafetensors(join(a.out, 'model.safetensors'), prefixed, { format: 'pt' });
await writeFile(join(a.out, 'config.json'), JSON.stringify(toHFConfig(GPT2_124M, { architectures: ['GPT2LMHeadModel'] }), null, 2) + '\n');
for (const f of ['tokenizer.json', 'vocab.json', 'merges.txt', 'tokenizer_config.json', 'special_tokens_map.json', 'generation_config.json']) {
  const from = join(a['tokenizer-from']!, f);
  if (existsSync(from)) await copyFile(from, join(a.out, f));
}
console.log(`${a.out}: GPT-2 124M (pesos aleatorios, semilla ${a.seed}), tokenizador de ${a['tokenizer-from']}`);
