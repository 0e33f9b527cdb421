import { initBackend } from '../../core/backend.ts';
import { loadModelFolder } from '../../core/model/load.ts';
import { trainBench, generateBench, TORCH_PROMPT } from '../workloads.ts';
await initBackend({ request: (process.argv[2] as any) ?? 'wasm' });
const what = process.argv[3] ?? 'train';
const { model } = await loadModelFolder('/work/shared/models/es-novelas-mini', { trainable: what === 'train' });
if (what === 'train') console.log(await trainBench(model, { method: 'full', batchSize: 2, blockSize: 128, steps: 3, seed: 0 }));
else console.log(await generateBench(model, { newTokens: 160, prompt: TORCH_PROMPT }));
