/**
 * Writes a Hugging Face GPT-2 folder with the 124M shape and random weights, with the tokenizer files of another
 * folder (bench/random-folder.ts): a stand-in for datificate/gpt2-small-spanish where the Hub cannot be reached,
 * to time `quijote train` / `demo` (a /train) at the real size. Its stories are noise.
 *
 *   node --import tsx bench/random-model.ts --out DIR [--tokenizer-from DIR] [--seed 0]
 *
 * Runs on tfjs' cpu backend (a few seconds); the folder is ~500 MB (float32 safetensors).
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { writeRandomModelFolder } from './random-folder.ts';

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
await writeRandomModelFolder(a.out, a['tokenizer-from']!, Number(a.seed));
console.log(`${a.out}: GPT-2 124M (pesos aleatorios, semilla ${a.seed}), tokenizador de ${a['tokenizer-from']}`);
