/**
 * The inspection pictures (core/plot): 520 px wide, every character their labels use has a glyph (accents, ñ, «»,
 * α…, in both languages), the token heatmap lays out the whole text, the colour scales say what they should, and
 * the worker-thread renderers give the same PNG as the direct call.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { catalogue } from '../commands/messages.ts';
import { hasGlyph } from '../core/plot/font.ts';
import { diverging, sequential, wrapText } from '../core/plot/layout.ts';
import { heatLimit, placeTokens, renderTokenHeatmap } from '../core/plot/token-heatmap.ts';
import { renderNextTokenBars, BARS_ES } from '../core/plot/next-token-bars.ts';
import { renderFilmStrip, FILM_ES } from '../core/plot/film-strip.ts';
import { attentionRows, renderAttentionMap, ATTENTION_ES, MAX_ROWS } from '../core/plot/attention-map.ts';
import { renderOffThread } from '../core/plot/off-thread.ts';

const size = (png: Buffer) => ({ width: png.readUInt32BE(16), height: png.readUInt32BE(20) });
const TOKENS = [{ piece: 'En', delta: null }, { piece: ' un', delta: 0.4 }, { piece: ' lugar', delta: 2.2 }, { piece: ' de la', delta: -1.3 }, { piece: '\nMancha,', delta: 5 }, { piece: ' señor —dijo «ñoño»', delta: -7 }];
const WORDS = { gained: [{ word: 'hidalgo', delta: 2.5, count: 4 }, { word: 'merced', delta: 1.1, count: 9 }], lost: [{ word: 'robot', delta: -0.7, count: 3 }] };

test('every character of the pictures\' labels (es and en) is in the font', () => {
  const prefixes = ['words.', 'next.', 'film.', 'attention.'];
  for (const locale of ['es', 'en'] as const) {
    for (const [k, v] of Object.entries(catalogue[locale])) {
      if (!prefixes.some((p) => k.startsWith(p)) || /caption|alt|expired|full|bad|voted|button|pick|vote$/.test(k)) continue;
      for (const ch of v.replace(/\{[a-z]+\}/gi, '')) assert.ok(hasGlyph(ch) || ch === '\n', `${locale} ${k}: «${ch}» (U+${ch.codePointAt(0)!.toString(16)}) has no glyph`);
    }
  }
  for (const ch of 'áéíóúüñÁÉÍÓÚÜÑ¿¡«»—–‘’“”…αàèìòùïçÇ−') assert.ok(hasGlyph(ch), ch);
});

test('token heatmap: 520 px, the tokens laid out in order (line breaks kept, no token split), a symmetric scale', () => {
  const placed = placeTokens(TOKENS, 20);
  // a token that does not fit goes whole to the next line, without its leading space
  assert.equal(placed.map((p) => p.text).join('|'), 'En| un| lugar| de la|Mancha,|señor —dijo «ñoño»');
  assert.deepEqual(placed.map((p) => p.line), [0, 0, 0, 0, 1, 2], 'the line break starts a new line');
  assert.equal(heatLimit(TOKENS), 6, 'the 95th percentile of |Δ| (7) is capped at 6');
  assert.equal(heatLimit([{ piece: 'x', delta: 0.2 }]), 1);
  assert.deepEqual(diverging(0, 2), [247, 247, 247]);
  assert.deepEqual(diverging(null, 2), [225, 225, 225]);
  const warm = diverging(2, 2), cool = diverging(-2, 2);
  assert.ok(warm[0] > warm[2] && cool[2] > cool[0], 'warm is red, cool is blue');
  assert.deepEqual(diverging(10, 2), warm, 'clamped');
  const png = renderTokenHeatmap(TOKENS, WORDS);
  assert.equal(size(png).width, 520);
  assert.ok(size(png).height > 200);
});

test('next-token bars, film strip and attention map: 520 px; attention keeps the last rows and sums the earlier ones', async () => {
  const panel = (p: number) => ({ title: 'Modelo', tokens: Array.from({ length: 10 }, (_, i) => ({ piece: ` t${i}`, prob: p / (i + 1), kept: i < 4 })), keptByTopK: 6, keptByTopP: 4 });
  const bars = renderNextTokenBars([panel(0.3), panel(0.5)], { ...BARS_ES, title: '«En un lugar»', settings: 'temperatura 0,9 · top-k 6 · top-p 0,8' });
  assert.equal(size(bars).width, 520);
  const film = renderFilmStrip([0, 0.5, 1, 1.5].map((alpha) => ({ alpha, text: 'Había una vez un hidalgo. '.repeat(alpha * 10 + 1) })), { ...FILM_ES, title: 'Película' });
  assert.equal(size(film).width, 520);
  const T = MAX_ROWS + 6;
  const pieces = Array.from({ length: T }, (_, i) => ` w${i}`);
  const w = [0, 1].map(() => Array.from({ length: T }, () => 1 / T));
  const rows = attentionRows(pieces, w, '… {n} antes');
  assert.equal(rows.labels.length, MAX_ROWS);
  assert.equal(rows.labels[0], `… ${T - MAX_ROWS + 1} antes`);
  assert.ok(Math.abs(rows.values[0]![0]! - (T - MAX_ROWS + 1) / T) < 1e-12);
  assert.ok(Math.abs(rows.values.reduce((s, r) => s + r[1]!, 0) - 1) < 1e-12, 'the rows still sum to the whole row');
  const map = renderAttentionMap(pieces, w, w, { ...ATTENTION_ES, title: '¿A qué atiende «w29»?' });
  assert.equal(size(map).width, 520);
  assert.deepEqual(sequential(0, 1), [255, 255, 255]);
  // drawn on the worker thread: the same bytes
  assert.ok((await renderOffThread('attentionMap', pieces, w, w, { ...ATTENTION_ES, title: '¿A qué atiende «w29»?' })).equals(map));
  assert.ok((await renderOffThread('tokenHeatmap', TOKENS, WORDS)).equals(renderTokenHeatmap(TOKENS, WORDS)));
});

test('wrapText keeps line breaks and cuts words longer than a line', () => {
  assert.deepEqual(wrapText('uno dos tres\ncuatro', 8), ['uno dos', 'tres', 'cuatro']);
  assert.deepEqual(wrapText('abcdefghij', 4), ['abcd', 'efgh', 'ij']);
});
