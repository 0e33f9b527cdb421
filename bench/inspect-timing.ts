/**
 * Times the two interactive inspection views on CPU at a model's real size (e.g. the 124M-shaped folder that
 * bench/random-model.ts writes): the heatmap of a 160-token story (both models' per-token log-probs + the PNG)
 * and one next-token step (both models' next-token view after a prompt + the PNG). The class model is a second
 * load of the same folder (the same work as a distinct fine-tuned model).
 *
 *   node --import tsx bench/inspect-timing.ts --model /tmp/gpt2-124m [--backend wasm] [--repeat 3]
 */
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { initBackend, type BackendRequest } from '../core/backend.ts';
import { loadModelFolder } from '../core/model/load.ts';
import { compareText } from '../core/inspect/logprobs.ts';
import { compareNextTokens } from '../core/inspect/next-tokens.ts';
import { renderTokenHeatmap } from '../core/plot/token-heatmap.ts';
import { renderNextTokenBars, BARS_ES } from '../core/plot/next-token-bars.ts';

const { values: a } = parseArgs({ options: { model: { type: 'string' }, backend: { type: 'string', default: 'wasm' }, repeat: { type: 'string', default: '3' } } });
if (!a.model) { console.error('falta --model CARPETA'); process.exit(2); }
const info = await initBackend({ request: a.backend as BackendRequest, wasmThreads: cpus().length });
const base = await loadModelFolder(a.model), cls = await loadModelFolder(a.model);
const pair = { base: { model: base.model }, cls: { model: cls.model }, tokenizer: base.tokenizer };
// a 160-token text: book-like words until the tokenizer says 160
let story = '';
const words = 'En un lugar de la Mancha de cuyo nombre no quiero acordarme no ha mucho tiempo que vivía un hidalgo de los de lanza en astillero adarga antigua rocín flaco y galgo corredor'.split(' ');
for (let i = 0; base.tokenizer.encode(story).length < 160; i++) story += (i ? ' ' : '') + words[i % words.length];
const ids160 = base.tokenizer.encode(story).slice(0, 160);
story = base.tokenizer.decode(ids160);
const prompt = base.tokenizer.encode('En un lugar de la Mancha, de cuyo nombre no quiero');
const runs: Array<{ heatmap_ms: number; next_token_ms: number }> = [];
for (let r = 0; r < Number(a.repeat); r++) {
  let t0 = performance.now();
  const cmp = await compareText(pair, story);
  renderTokenHeatmap(cmp.tokens, null);
  const heatmap = performance.now() - t0;
  t0 = performance.now();
  const nt = await compareNextTokens(pair, prompt, { temperature: 0.9, topK: 50, topP: 0.95, repetitionPenalty: 1.1 });
  renderNextTokenBars([{ title: 'base', ...nt.base }, { title: 'clase', ...nt.cls }], { ...BARS_ES, title: 'x', settings: 'y' });
  runs.push({ heatmap_ms: Math.round(heatmap), next_token_ms: Math.round(performance.now() - t0) });
}
console.log(JSON.stringify({ model: a.model, backend: info.name, tokens: base.tokenizer.encode(story).length, layers: base.model.config.nLayer, runs }));
