import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PNG } from 'pngjs';
import { COLORS, lossCurveLayout, renderLossCurve, type LossPoint } from '../core/plot/loss-curve.ts';
import { GLYPH_HEIGHT, GLYPH_WIDTH, glyphRows, hasGlyph, textWidth } from '../core/plot/font.ts';

function decode(buf: Buffer): PNG {
  assert.deepEqual([...buf.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature');
  return PNG.sync.read(buf);
}

function rgb(png: PNG, x: number, y: number): [number, number, number] {
  const i = (y * png.width + x) * 4;
  return [png.data[i], png.data[i + 1], png.data[i + 2]];
}

function countColor(png: PNG, color: readonly number[], box = { x0: 0, y0: 0, x1: png.width - 1, y1: png.height - 1 }): number {
  let n = 0;
  for (let y = box.y0; y <= box.y1; y++) for (let x = box.x0; x <= box.x1; x++) {
    const [r, g, b] = rgb(png, x, y);
    if (r === color[0] && g === color[1] && b === color[2]) n++;
  }
  return n;
}

const curve: LossPoint[] = Array.from({ length: 40 }, (_, i) => ({ step: i + 1, loss: 2 + 2 * Math.exp(-i / 8) }));

test('renders a PNG of the requested size (default 900x500)', () => {
  const png = decode(renderLossCurve(curve));
  assert.equal(png.width, 900);
  assert.equal(png.height, 500);
  const small = decode(renderLossCurve(curve, { width: 400, height: 260 }));
  assert.deepEqual([small.width, small.height], [400, 260]);
  // Corners are background white.
  assert.deepEqual(rgb(png, 0, 0), [255, 255, 255]);
  assert.deepEqual(rgb(png, 899, 499), [255, 255, 255]);
});

test('layout maps the data range onto the plot area with nice y ticks', () => {
  const L = lossCurveLayout(curve);
  const losses = curve.map((p) => p.loss);
  assert.deepEqual(L.xRange, [1, 40]);
  assert.equal(L.x(1), L.plot.left + 0.5);
  assert.equal(L.x(40), L.plot.right + 0.5);
  assert.ok(L.yRange[0] <= Math.min(...losses) && L.yRange[1] >= Math.max(...losses));
  const step = L.yTicks[1] - L.yTicks[0];
  const mantissa = step / 10 ** Math.floor(Math.log10(step));
  assert.ok([1, 2, 5].some((m) => Math.abs(mantissa - m) < 1e-9), `tick step ${step}`);
  for (let i = 1; i < L.yTicks.length; i++) assert.ok(Math.abs(L.yTicks[i] - L.yTicks[i - 1] - step) < 1e-9);
  assert.ok(L.yTicks.length >= 3 && L.yTicks.length <= 12);
  // Higher loss is higher on the image (smaller y).
  assert.ok(L.y(curve[0].loss) < L.y(curve[39].loss));
  assert.ok(L.plot.left > 0 && L.plot.right < 900 && L.plot.top > 0 && L.plot.bottom < 500);
});

test('the training line passes through every data point and the midpoints of segments', () => {
  const png = decode(renderLossCurve(curve));
  const L = lossCurveLayout(curve);
  for (const p of curve) {
    assert.deepEqual(rgb(png, Math.floor(L.x(p.step)), Math.floor(L.y(p.loss))), [...COLORS.train], `point step ${p.step}`);
  }
  for (let i = 1; i < curve.length; i++) {
    const mx = (L.x(curve[i - 1].step) + L.x(curve[i].step)) / 2;
    const my = (L.y(curve[i - 1].loss) + L.y(curve[i].loss)) / 2;
    assert.deepEqual(rgb(png, Math.floor(mx), Math.floor(my)), [...COLORS.train], `midpoint ${i}`);
  }
  // Far from the curve (top-right of the plot, above it, below the top tick) there is no line colour.
  const box = { x0: Math.floor(L.x(30)), y0: L.plot.top + 2, x1: L.plot.right - 2, y1: Math.floor(L.y(3)) };
  assert.equal(countColor(png, COLORS.train, box), 0);
});

test('eval losses are dashed horizontal lines at their height, listed in the legend', () => {
  const opts = { evalBefore: 4.3, evalAfter: 1.8 }; // outside the curve's range, so nothing else is drawn there
  const png = decode(renderLossCurve(curve, opts));
  const L = lossCurveLayout(curve, opts);
  assert.ok(L.yRange[0] <= 1.8 && L.yRange[1] >= 4.3, 'y range includes eval losses');
  for (const [v, color] of [[4.3, COLORS.evalBefore], [1.8, COLORS.evalAfter]] as const) {
    const y = Math.floor(L.y(v));
    assert.deepEqual(rgb(png, L.plot.left + 1, y), [...color], 'dash starts at the axis');
    assert.deepEqual(rgb(png, L.plot.left + 1 + 13, y), [...color], 'second dash (8 on, 5 off)');
    assert.notDeepEqual(rgb(png, L.plot.left + 1 + 9, y), [...color], 'gap between dashes');
    const inPlot = countColor(png, color, { x0: L.plot.left + 1, y0: y - 1, x1: L.plot.right, y1: y });
    const length = L.plot.right - L.plot.left;
    assert.ok(inPlot > length * 0.9 && inPlot < length * 1.4, `dashed: ${inPlot} pixels over 2 rows of ${length}`);
    // The legend (above the plot) shows a sample of the same colour.
    assert.ok(countColor(png, color, { x0: 0, y0: 0, x1: png.width - 1, y1: L.plot.top - 1 }) > 0, 'legend sample');
  }
  assert.equal(countColor(decode(renderLossCurve(curve)), COLORS.evalBefore), 0, 'no eval line when not given');
});

test('same input gives the same bytes; different input or title gives different bytes', () => {
  const a = renderLossCurve(curve, { evalBefore: 3, title: 'Prueba' });
  const b = renderLossCurve(curve.map((p) => ({ ...p })), { evalBefore: 3, title: 'Prueba' });
  assert.ok(a.equals(b));
  assert.ok(!a.equals(renderLossCurve(curve, { evalBefore: 3, title: 'Otra' })));
  assert.ok(!a.equals(renderLossCurve(curve.slice(0, 39), { evalBefore: 3, title: 'Prueba' })));
  // Order of the input points does not matter (they are sorted by step).
  assert.ok(a.equals(renderLossCurve([...curve].reverse(), { evalBefore: 3, title: 'Prueba' })));
});

test('title is drawn at the top, centred; default title differs from a custom one', () => {
  const png = decode(renderLossCurve(curve));
  const L = lossCurveLayout(curve);
  const band = { x0: 0, y0: 0, x1: png.width - 1, y1: 4 + GLYPH_HEIGHT * L.textScale + 8 };
  let minX = Infinity;
  let maxX = -Infinity;
  for (let y = band.y0; y <= band.y1; y++) for (let x = 0; x < png.width; x++) {
    if (rgb(png, x, y)[0] < 128) {
      minX = Math.min(minX, x);
      maxX = Math.max(maxX, x);
    }
  }
  assert.ok(Number.isFinite(minX), 'dark title pixels in the top band');
  assert.ok(Math.abs((minX + maxX) / 2 - png.width / 2) <= 6, `title centred: ${minX}..${maxX}`);
  assert.ok(maxX - minX + 1 <= textWidth('Pérdida de entrenamiento', L.textScale));
});

test('no data, NaN-only, mixed NaN and a single point render without throwing', () => {
  const empty = renderLossCurve([]);
  const pngEmpty = decode(empty);
  assert.equal(countColor(pngEmpty, COLORS.train), 0);
  // "sin datos" is written in the middle of the plot area.
  const L = lossCurveLayout([]);
  const mid = { x0: L.plot.left + 1, y0: L.plot.top, x1: L.plot.right - 1, y1: L.plot.bottom - 1 };
  assert.ok(countColor(pngEmpty, COLORS.text, mid) > 20, 'message pixels');
  assert.ok(renderLossCurve([{ step: NaN, loss: 1 }, { step: 1, loss: NaN }, { step: 2, loss: Infinity }]).equals(empty));

  const withNaN = [...curve.slice(0, 10), { step: 10.5, loss: NaN }, ...curve.slice(10)];
  assert.ok(renderLossCurve(withNaN).equals(renderLossCurve(curve)), 'non-finite points are dropped');

  const one = decode(renderLossCurve([{ step: 3, loss: 2.5 }], { evalAfter: 2.2 }));
  const L1 = lossCurveLayout([{ step: 3, loss: 2.5 }], { evalAfter: 2.2 });
  assert.deepEqual(rgb(one, Math.floor(L1.x(3)), Math.floor(L1.y(2.5))), [...COLORS.train]);
  assert.ok(L1.xRange[0] < 3 && L1.xRange[1] > 3);
  const flat = lossCurveLayout([{ step: 0, loss: 2 }, { step: 5, loss: 2 }]);
  assert.ok(flat.yRange[0] < 2 && flat.yRange[1] > 2, 'a flat curve still gets a y range');
});

test('font covers ASCII 32–126 and Spanish letters with distinct glyphs; unknown characters become "?"', () => {
  const chars = [...Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)), ...'áéíóúüñÁÉÍÓÚÜÑ¿¡'];
  const seen = new Map<string, string>();
  for (const ch of chars) {
    assert.ok(hasGlyph(ch), `glyph for ${JSON.stringify(ch)}`);
    const rows = glyphRows(ch);
    assert.equal(rows.length, GLYPH_HEIGHT);
    for (const r of rows) assert.ok(r >= 0 && r < 1 << GLYPH_WIDTH);
    const key = rows.join(',');
    assert.ok(!seen.has(key), `${JSON.stringify(ch)} looks identical to ${JSON.stringify(seen.get(key))}`);
    seen.set(key, ch);
    if (ch !== ' ') assert.ok(rows.some((r) => r !== 0), `${JSON.stringify(ch)} is not blank`);
  }
  // Accented letters are their base letter plus marks above it.
  const a = glyphRows('a');
  const aa = glyphRows('á');
  for (let r = 4; r < GLYPH_HEIGHT; r++) assert.equal(aa[r], a[r], `row ${r} of á`);
  assert.deepEqual(glyphRows('€'), glyphRows('?'));
  assert.equal(textWidth('abc', 2), (3 * 6 - 1) * 2);
  assert.equal(textWidth('a\u0301'), textWidth('á'), 'combining accents are normalised');
});
