/**
 * The style dial: a model between (and a little past) the base and the class model,
 * θ(α) = (1 − α)·θ_base + α·θ_class  (= θ_base + α·(θ_class − θ_base)), α in [0, 1.5].
 *
 * Memory, which decides the implementation (the wasm heap is 4 GiB, and it already holds the base model and the
 * class model):
 * - LoRA class model (an adapter on the resident base, the 124M default on wasm): θ_class − θ_base is exactly the
 *   adapter's scale·A·B, so θ(α) is the same adapter with its scale times α, applied on the fly. No copy at all.
 * - Full fine-tuning (its own folder): one transient mixed copy, built weight by weight and disposed after use —
 *   the model's size (124M: 498 MB of weights + 154 MB for the cached transposed embedding; es-novelas-mini:
 *   56 MB). On wasm, full fine-tuning is only chosen for models of at most ~60M parameters (five float32 copies
 *   must fit in 1.2 GB, tfjs-engine.ts chooseMethod), so the copy stays under ~300 MB there.
 * α = 0 and α = 1 reuse the base and class models themselves (no copy, exactly their logits); the convex form
 * (1 − α)·b + α·c is also exact there (1·b + 0·c = b, 0·b + 1·c = c), which the tests check.
 */
import * as tf from '@tensorflow/tfjs-core';
import { QuijoteError } from '../errors.ts';
import type { GPT2, LoraSet, Weights } from '../model/gpt2.ts';
import { disposeModel } from '../model/params.ts';
import type { LmRef } from './lm.ts';
import { MAX_ALPHA, MIN_ALPHA } from './requests.ts';

export { MAX_ALPHA, MIN_ALPHA };

export interface Interpolated {
  ref: LmRef;
  /** bytes of tensors this interpolation allocated (0 for LoRA and for α = 0 or 1) */
  bytes: number;
  dispose(): void;
}

export function checkAlpha(alpha: number): void {
  if (!(Number.isFinite(alpha) && alpha >= MIN_ALPHA && alpha <= MAX_ALPHA)) {
    throw new QuijoteError('BAD_ARGUMENT', `La intensidad debe estar entre ${MIN_ALPHA} y ${MAX_ALPHA}; recibido: ${String(alpha)}.`, {
      hint: '0 es el modelo base, 1 el de la clase, 1.5 exagera el estilo aprendido.',
    });
  }
}

/** A LoRA set with every scale multiplied by α; it shares A and B with `set` (nothing to dispose). */
export function scaleLora(set: LoraSet, alpha: number): LoraSet {
  const out: LoraSet = {};
  for (const [name, p] of Object.entries(set)) out[name] = { ...p, scale: p.scale * alpha, dropout: 0 };
  return out;
}

/** (1 − α)·base + α·cls for every weight: a new model that the caller disposes (disposeModel). */
export function mixWeights(base: GPT2, cls: GPT2, alpha: number): GPT2 {
  const names = Object.keys(base.weights);
  const missing = names.filter((n) => !cls.weights[n] || cls.weights[n].shape.join() !== base.weights[n].shape.join());
  if (missing.length > 0 || Object.keys(cls.weights).length !== names.length) {
    throw new QuijoteError('MODEL_UNSUPPORTED', `El modelo de la clase no tiene la forma del modelo base (${missing[0] ?? 'otros pesos'}).`, {
      hint: 'La intensidad solo se puede mezclar entre un modelo y su propio afinado.',
    });
  }
  const mix = (b: tf.Tensor, c: tf.Tensor) => tf.tidy(() => tf.add(tf.mul(b, 1 - alpha), tf.mul(c, alpha)));
  const weights: Weights = {};
  for (const n of names) weights[n] = mix(base.weights[n], cls.weights[n]);
  const wteT = base.wteT && cls.wteT ? (mix(base.wteT, cls.wteT) as tf.Tensor2D) : base.wteT ? (tf.transpose(weights['wte.weight']) as tf.Tensor2D) : null;
  return { config: base.config, weights, wteT };
}

/** The model at intensity α between `base` and `cls` (see the header for what it costs). */
export function interpolate(base: LmRef, cls: LmRef, alpha: number): Interpolated {
  checkAlpha(alpha);
  if (base.lora) throw new QuijoteError('INTERNAL', 'El modelo base no lleva adaptador LoRA.');
  if (cls.lora && cls.model === base.model) return { ref: { model: base.model, lora: scaleLora(cls.lora, alpha) }, bytes: 0, dispose() {} };
  if (alpha === 0) return { ref: base, bytes: 0, dispose() {} };
  if (alpha === 1) return { ref: cls, bytes: 0, dispose() {} };
  if (cls.lora) {
    throw new QuijoteError('MODEL_UNSUPPORTED', 'Un adaptador LoRA sobre otro modelo no se puede mezclar con el base.', { hint: 'Usa el adaptador sobre el modelo base, o su versión fusionada.' });
  }
  const model = mixWeights(base.model, cls.model, alpha);
  const bytes = Object.values(model.weights).reduce((n, w) => n + w.size * 4, 0) + (model.wteT ? model.wteT.size * 4 : 0);
  return { ref: { model }, bytes, dispose: () => disposeModel(model) };
}
