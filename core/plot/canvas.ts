/**
 * Minimal RGBA raster for server-side charts: solid fills, crisp axis lines, anti-aliased thick polylines,
 * dashed lines and bitmap text, encoded to PNG (png.ts). Pure JavaScript, deterministic output.
 */
import { rasterizeText, textWidth } from './font.ts';
import { encodePng } from './png.ts';

export type Rgb = readonly [number, number, number];

export class Canvas {
  readonly width: number;
  readonly height: number;
  readonly data: Buffer; // RGBA, row-major

  constructor(width: number, height: number, background: Rgb = [255, 255, 255]) {
    this.width = width;
    this.height = height;
    this.data = Buffer.alloc(width * height * 4);
    this.fillRect(0, 0, width, height, background);
  }

  /** Alpha-blends `color` over pixel (x, y) with opacity `alpha` in [0, 1]; outside pixels are ignored. */
  blend(x: number, y: number, color: Rgb, alpha = 1): void {
    if (x < 0 || y < 0 || x >= this.width || y >= this.height || alpha <= 0) return;
    const i = (y * this.width + x) * 4;
    const a = Math.min(1, alpha);
    for (let k = 0; k < 3; k++) this.data[i + k] = Math.round(this.data[i + k] * (1 - a) + color[k] * a);
    this.data[i + 3] = 255;
  }

  getPixel(x: number, y: number): [number, number, number, number] {
    const i = (y * this.width + x) * 4;
    return [this.data[i], this.data[i + 1], this.data[i + 2], this.data[i + 3]];
  }

  fillRect(x: number, y: number, w: number, h: number, color: Rgb): void {
    for (let yy = Math.max(0, y); yy < Math.min(this.height, y + h); yy++) {
      for (let xx = Math.max(0, x); xx < Math.min(this.width, x + w); xx++) this.blend(xx, yy, color);
    }
  }

  /** Axis-aligned 1-pixel line (inclusive ends); `dash` = [on, off] lengths in pixels. */
  hline(x0: number, x1: number, y: number, color: Rgb, dash?: readonly [number, number], thickness = 1): void {
    for (let x = x0; x <= x1; x++) {
      if (dash && (x - x0) % (dash[0] + dash[1]) >= dash[0]) continue;
      for (let t = 0; t < thickness; t++) this.blend(x, y + t, color);
    }
  }

  vline(x: number, y0: number, y1: number, color: Rgb, thickness = 1): void {
    for (let y = y0; y <= y1; y++) for (let t = 0; t < thickness; t++) this.blend(x + t, y, color);
  }

  /**
   * Anti-aliased polyline of half-width `halfWidth`, through points in continuous pixel coordinates (pixel
   * (i, j) spans [i, i+1) x [j, j+1), its centre is (i+0.5, j+0.5)). Coverage is computed per pixel as the
   * maximum over segments, so joints are not painted twice. Pixels whose centre is within halfWidth - 0.5 of
   * the path get exactly `color`.
   */
  polyline(points: ReadonlyArray<readonly [number, number]>, color: Rgb, halfWidth: number): void {
    if (points.length === 0) return;
    const coverage = new Map<number, number>();
    const segs = points.length === 1 ? [[points[0], points[0]] as const] : points.slice(1).map((p, i) => [points[i], p] as const);
    const reach = halfWidth + 0.5;
    for (const [[ax, ay], [bx, by]] of segs) {
      const minX = Math.max(0, Math.floor(Math.min(ax, bx) - reach));
      const maxX = Math.min(this.width - 1, Math.ceil(Math.max(ax, bx) + reach));
      const minY = Math.max(0, Math.floor(Math.min(ay, by) - reach));
      const maxY = Math.min(this.height - 1, Math.ceil(Math.max(ay, by) + reach));
      const dx = bx - ax;
      const dy = by - ay;
      const len2 = dx * dx + dy * dy;
      for (let y = minY; y <= maxY; y++) {
        for (let x = minX; x <= maxX; x++) {
          const px = x + 0.5;
          const py = y + 0.5;
          const t = len2 === 0 ? 0 : Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / len2));
          const dist = Math.hypot(px - (ax + t * dx), py - (ay + t * dy));
          const c = Math.max(0, Math.min(1, reach - dist));
          if (c <= 0) continue;
          const key = y * this.width + x;
          if (c > (coverage.get(key) ?? 0)) coverage.set(key, c);
        }
      }
    }
    const keys = Array.from(coverage.keys()).sort((a, b) => a - b); // fixed order: deterministic output
    for (const key of keys) this.blend(key % this.width, Math.floor(key / this.width), color, coverage.get(key));
  }

  /** Text with the cell's top-left at (x, y); align moves the anchor to the text's centre or right end. */
  text(str: string, x: number, y: number, color: Rgb, scale = 1, align: 'left' | 'center' | 'right' = 'left'): void {
    const w = textWidth(str, scale);
    const left = align === 'left' ? x : align === 'center' ? x - Math.floor(w / 2) : x - w;
    rasterizeText(str, left, y, scale, (px, py) => this.blend(px, py, color));
  }

  toPng(): Buffer {
    return encodePng(this.data, this.width, this.height);
  }
}
