/**
 * Draws one example of each inspection picture from a base model and a class model (e.g. es-novelas-mini and a
 * `quijote train --model … --out DIR` of it), with the numbers from core/inspect, and times each step.
 *
 *   node --import tsx scripts/inspect-examples.ts --base DIR --class DIR --text BOOK.txt --lines N --out DIR [--backend wasm]
 *
 * Writes heatmap.png, next-tokens.png, film.png, attention.png and examples.json (numbers, timings, alt texts).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { initBackend, type BackendRequest } from '../core/backend.ts';
import { loadModelFolder } from '../core/model/load.ts';
import { compareText, wordShifts } from '../core/inspect/logprobs.ts';
import { compareNextTokens } from '../core/inspect/next-tokens.ts';
import { compareAttention } from '../core/inspect/attention.ts';
import { filmStories } from '../core/inspect/film.ts';
import type { ModelPair } from '../core/inspect/lm.ts';
import { renderTokenHeatmap, HEATMAP_ES } from '../core/plot/token-heatmap.ts';
import { renderNextTokenBars, BARS_ES } from '../core/plot/next-token-bars.ts';
import { renderFilmStrip, FILM_ES } from '../core/plot/film-strip.ts';
import { renderAttentionMap, ATTENTION_ES } from '../core/plot/attention-map.ts';
import { extractBodyLines } from '../core/text/gutenberg.ts';
import { selectLines } from '../core/text/dataset.ts';
import { buildCorpusIndex } from '../core/story/traces.ts';
import { bookPlaces } from '../core/story/book-place.ts';
import { memorizationMeter } from '../core/story/memorization.ts';

const { values: a } = parseArgs({
  options: {
    base: { type: 'string' }, class: { type: 'string' }, text: { type: 'string' }, lines: { type: 'string', default: '500' },
    out: { type: 'string', default: 'tmp/inspect' }, backend: { type: 'string', default: 'wasm' },
    prompt: { type: 'string', default: 'Escribe cinco oraciones sobre un colegio de monjas quijotescas.' },
    seed: { type: 'string', default: '42' },
  },
});
if (!a.base || !a.class || !a.text) { console.error('uso: --base DIR --class DIR --text LIBRO.txt [--lines N] [--out DIR]'); process.exit(2); }
await initBackend({ request: a.backend as BackendRequest, wasmThreads: cpus().length });
const base = await loadModelFolder(a.base), cls = await loadModelFolder(a.class);
const pair: ModelPair = { base: { model: base.model }, cls: { model: cls.model }, tokenizer: base.tokenizer };
const book = extractBodyLines(await readFile(a.text, 'utf8'), { source: a.text });
const split = selectLines(book, Number(a.lines));
await mkdir(a.out, { recursive: true });
const ms = (t0: number) => Math.round(performance.now() - t0);
const timings: Record<string, number> = {};
const cfg = { max_new_tokens: 160, do_sample: true, temperature: 0.9, top_k: 50, top_p: 0.95, repetition_penalty: 1.1, seed: Number(a.seed), eos_token_id: base.tokenizer.eosTokenId };

let t0 = performance.now();
const film = await filmStories(pair, a.prompt, cfg);
timings.film_ms = ms(t0);
await writeFile(join(a.out, 'film.png'), renderFilmStrip(film.map((f) => ({ alpha: f.alpha, text: f.text })), { ...FILM_ES, title: `Película: «${a.prompt}»` }));

const story = film.find((f) => f.alpha === 1)!.text;
t0 = performance.now();
const words = await wordShifts(pair, split.eval, { blockSize: 128, minCount: 3 });
timings.words_ms = ms(t0);
t0 = performance.now();
const cmp = await compareText(pair, story);
timings.heatmap_numbers_ms = ms(t0);
t0 = performance.now();
const heat = renderTokenHeatmap(cmp.tokens, words, { ...HEATMAP_ES }, { truncated: cmp.truncated });
timings.heatmap_draw_ms = ms(t0);
await writeFile(join(a.out, 'heatmap.png'), heat);

const prompt = 'En un lugar de la Mancha, de cuyo nombre no quiero';
t0 = performance.now();
const ids = base.tokenizer.encode(prompt);
const sampler = { temperature: 0.9, topK: 5, topP: 0.8, repetitionPenalty: 1.1 };
const nt = await compareNextTokens(pair, ids, sampler);
timings.next_numbers_ms = ms(t0);
await writeFile(join(a.out, 'next-tokens.png'), renderNextTokenBars([
  { title: 'Modelo base', ...nt.base }, { title: 'Modelo de la clase', ...nt.cls }], { ...BARS_ES, title: `«…${prompt}»`, settings: 'temperatura 0.9 · top-k 5 · top-p 0.8' }));

t0 = performance.now();
const att = await compareAttention(pair, 'El ingenioso hidalgo salió de su aldea y dijo a Sancho que le siguiese', 'siguiese');
timings.attention_numbers_ms = ms(t0);
await writeFile(join(a.out, 'attention.png'), renderAttentionMap(att.pieces, att.base, att.cls, { ...ATTENTION_ES, title: '¿A qué atiende «siguiese»?' }));

const index = buildCorpusIndex(split.train);
const meter = memorizationMeter(story, index, bookPlaces(split.train));
await writeFile(join(a.out, 'examples.json'), JSON.stringify({ film, words, meter, timings, next: { base: nt.base.tokens.slice(0, 5), cls: nt.cls.tokens.slice(0, 5) } }, null, 2) + '\n');
console.log(JSON.stringify({ timings, gained: words.gained.map((w) => w.word), lost: words.lost.map((w) => w.word), meter }, null, 1));
