/**
 * AdamW exactly as torch.optim.AdamW (decoupled weight decay):
 *   p ← p·(1 − lr·wd);  m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²
 *   p ← p − (lr / (1−β1ᵗ)) · m / (√v / √(1−β2ᵗ) + ε)
 */
import * as tf from '@tensorflow/tfjs-core';
import { variableFrom } from '../model/ops.ts';
import { adamwUpdate } from '../kernels/webgpu-fused.ts';

export interface AdamWOptions { beta1?: number; beta2?: number; eps?: number; weightDecay?: number }

export class AdamW {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  private t = 0;
  private readonly m = new Map<tf.Variable, tf.Variable>();
  private readonly v = new Map<tf.Variable, tf.Variable>();

  constructor(private readonly params: tf.Variable[], opts: AdamWOptions = {}) {
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.999;
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 0;
  }

  get steps(): number { return this.t; }

  /**
   * One update with learning rate `lr`; `grads[i]` belongs to `params[i]` and is used as grads[i]·scale when a
   * scale (the clipping factor, a scalar tensor) is given. Does not dispose the grads nor the scale.
   */
  step(grads: tf.Tensor[], lr: number, scale?: tf.Tensor): void {
    this.t += 1;
    const { beta1: b1, beta2: b2, eps, weightDecay: wd } = this;
    const bc1 = 1 - b1 ** this.t, bc2 = 1 - b2 ** this.t;
    const stepSize = lr / bc1, sqrtBc2 = Math.sqrt(bc2);
    const fused = tf.getBackend() === 'webgpu'; // one dispatch per new tensor, constants as uniforms
    const one = fused && !scale ? tf.scalar(1) : null;
    this.params.forEach((p, i) => {
      const g = grads[i];
      let m = this.m.get(p), v = this.v.get(p);
      if (!m || !v) {
        m = variableFrom(tf.zerosLike(p), false);
        v = variableFrom(tf.zerosLike(p), false);
        this.m.set(p, m); this.v.set(p, v);
      }
      const mm = m, vv = v;
      if (fused) {
        const r = adamwUpdate(p, g, mm, vv, scale ?? one!, { beta1: b1, beta2: b2, eps, decay: 1 - lr * wd, stepSize, sqrtBc2 });
        mm.assign(r.m); vv.assign(r.v); p.assign(r.p);
        tf.dispose([r.m, r.v, r.p]);
        return;
      }
      tf.tidy(() => {
        const gs = scale ? tf.mul(g, scale) : g;
        const m1 = tf.add(tf.mul(mm, b1), tf.mul(gs, 1 - b1));
        const v1 = tf.add(tf.mul(vv, b2), tf.mul(tf.square(gs), 1 - b2));
        const decayed = wd !== 0 ? tf.mul(p, 1 - lr * wd) : p;
        const denom = tf.add(tf.div(tf.sqrt(v1), sqrtBc2), eps);
        mm.assign(m1); vv.assign(v1);
        p.assign(tf.sub(decayed, tf.mul(tf.div(m1, denom), stepSize)));
      });
    });
    one?.dispose();
  }

  dispose(): void {
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
    this.m.clear(); this.v.clear();
  }
}

/**
 * Sum of scalars as one concat and one sum. Not tf.addN: its WebGPU kernel binds every input to one shader and
 * fails (silently, a Dawn validation error) past the device's storage-buffer limit, 8 by default; tfjs' WebGPU
 * concat splits its inputs into groups that fit.
 */
export function sumScalars(ts: tf.Tensor[]): tf.Scalar {
  return tf.sum(tf.concat(ts.map((t) => tf.reshape(t, [1])))) as tf.Scalar;
}

/**
 * torch.nn.utils.clip_grad_norm_'s factor, on the device (no read-back, so a GPU keeps its queue full):
 * coef = min(1, maxNorm / (norm + 1e-6)). Returns it with the global L2 norm; the caller disposes both.
 */
export function clipCoefficient(grads: tf.Tensor[], maxNorm: number): { norm: tf.Scalar; coef: tf.Scalar } {
  // Row sums first: tfjs' WebGPU Sum reduces to one value with a single workgroup (slow over wte's 38.6M values).
  const sq = (g: tf.Tensor) => (g.rank >= 2 ? tf.sum(tf.sum(tf.square(g), -1)) : tf.sum(tf.square(g)));
  const norm = tf.tidy(() => tf.sqrt(sumScalars(grads.map(sq))) as tf.Scalar);
  const coef = tf.tidy(() => tf.minimum(tf.div(maxNorm, tf.add(norm, 1e-6)), 1) as tf.Scalar);
  return { norm, coef };
}

/**
 * clip_grad_norm_ as new tensors: grads·coef (×1 exactly when no clipping is needed). Disposes the input grads;
 * `norm` is the norm before clipping (caller disposes). The trainer passes the factor to AdamW instead.
 */
export function clipGradNorm(grads: tf.Tensor[], maxNorm: number): { norm: tf.Scalar; clipped: tf.Tensor[] } {
  const { norm, coef } = clipCoefficient(grads, maxNorm);
  const clipped = grads.map((g) => tf.mul(g, coef));
  grads.forEach((g) => g.dispose());
  coef.dispose();
  return { norm, clipped };
}
