/** Our PNG encoder writes what a standard decoder (pngjs) reads back pixel for pixel; pictures draw off-thread. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PNG } from 'pngjs';
import { Canvas } from '../core/plot/canvas.ts';
import { renderLossCurve } from '../core/plot/loss-curve.ts';
import { renderOffThread } from '../core/plot/off-thread.ts';
import { encodePng } from '../core/plot/png.ts';

test('encodePng: a standard decoder gets every pixel back (alpha dropped, charts are opaque)', () => {
  const c = new Canvas(37, 11, [250, 240, 230]);
  c.fillRect(3, 2, 10, 5, [12, 200, 99]);
  c.text('Ñandú 5,05', 1, 1, [0, 0, 0]);
  for (let i = 0; i < c.data.length; i += 4) c.data[i + 1] = (i * 7) % 256; // every pixel distinct-ish
  const back = PNG.sync.read(encodePng(c.data, c.width, c.height));
  assert.equal(back.width, 37);
  assert.equal(back.height, 11);
  for (let i = 0; i < c.data.length; i += 4) {
    assert.deepEqual([...back.data.subarray(i, i + 3)], [...c.data.subarray(i, i + 3)], `pixel ${i / 4}`);
  }
  assert.throws(() => encodePng(c.data, 36, 11), RangeError);
});

test('a chart drawn on the worker thread is byte for byte the one drawn here', async () => {
  const curve = [{ step: 1, loss: 5.1 }, { step: 2, loss: 4.7 }, { step: 3, loss: 4.2 }];
  const opts = { title: 'Entrenamiento #3: pérdida por paso', evalBefore: 5.05, evalAfter: 4.9 };
  assert.deepEqual(await renderOffThread('lossCurve', curve, opts), renderLossCurve(curve, opts));
});
