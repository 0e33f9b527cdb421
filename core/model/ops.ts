/**
 * Small differentiable building blocks shared by the model and the trainer.
 *
 * On the wasm backend a matmul with transposeA/transposeB runs ~10× slower than a plain one, and autodiff's
 * backward pass of `a @ b` produces exactly those (dA = dY·Bᵀ, dB = Aᵀ·dY). `matmul` below gives the same
 * values with an explicit `transpose` (a cheap copy) followed by a plain matmul, and skips the gradient of a
 * frozen (non-trainable) weight altogether, which is what makes LoRA cheap.
 */
import * as tf from '@tensorflow/tfjs-core';
import { canFuse } from '../kernels/wasm-extra.ts';
import { webgpuDropoutMask } from '../kernels/webgpu-random.ts';
import { fusedTrainingOps } from '../kernels/webgpu-fused.ts';


/** Is this tensor a weight that receives gradients? */
export function isTrainable(t: tf.Tensor): boolean {
  return t instanceof tf.Variable && t.trainable;
}

// tf.customGrad's typing wants variadic (Tensor | GradSaveFunc) parameters; our functions name them.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const custom = <T extends tf.Tensor>(f: (...args: any[]) => { value: T; gradFunc: (dy: T, saved: tf.Tensor[]) => tf.Tensor[] }) =>
  tf.customGrad(f as unknown as Parameters<typeof tf.customGrad>[0]) as (...inputs: tf.Tensor[]) => T;

/** A variable that owns `t`'s data (tf.variable leaves the initial tensor alive; dispose it here). */
export function variableFrom(t: tf.Tensor, trainable = true): tf.Variable {
  const v = tf.variable(t, trainable);
  t.dispose();
  return v;
}

/** Swap the last two axes: [..., M, N] -> [..., N, M]. */
export function transposeLast(t: tf.Tensor): tf.Tensor {
  const r = t.rank;
  const perm = [...Array(r).keys()];
  [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
  return tf.transpose(t, perm);
}

/** Backends whose transposed matmuls are slow enough to prefer explicit transposes. */
function wantsExplicitTransposes(): boolean {
  const b = tf.getBackend();
  return b === 'wasm' || b === 'cpu';
}

/**
 * a @ b for rank 2..4 (batched on leading axes) with transpose-free gradients on wasm.
 * for 2-D products the gradient of a is dA = (b · dYᵀ)ᵀ instead of dY · bᵀ — two transposes
 * of activation-sized tensors ([N, out] and [in, N]) instead of one of the weight ([in, out]), and no packed
 * XNNPACK copy of a transposed weight per step (tfjs-backend-wasm caches a packed copy of every right-hand
 * operand until it is disposed).
 */
/** `bFrozen`: b is a weight that gets no gradient (LoRA's base weights); activations are never frozen. */
export function matmul(a: tf.Tensor, b: tf.Tensor, bFrozen = false): tf.Tensor {
  if (!wantsExplicitTransposes()) return tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D);
  const twoD = a.rank === 2 && b.rank === 2;
  const dA = (dy: tf.Tensor, bs: tf.Tensor) => twoD
    ? tf.transpose(tf.matMul(bs as tf.Tensor2D, tf.transpose(dy) as tf.Tensor2D))
    : tf.matMul(dy as tf.Tensor2D, transposeLast(bs) as tf.Tensor2D);
  if (bFrozen) {
    const f = custom((x: tf.Tensor, save: tf.GradSaveFunc) => {
      save([]);
      return { value: tf.matMul(x as tf.Tensor2D, b as tf.Tensor2D), gradFunc: (dy: tf.Tensor) => [dA(dy, b)] };
    });
    return f(a);
  }
  const f = custom((x: tf.Tensor, y: tf.Tensor, save: tf.GradSaveFunc) => {
    save([x, y]);
    return {
      value: tf.matMul(x as tf.Tensor2D, y as tf.Tensor2D),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, ys] = saved;
        return [dA(dy, ys), tf.matMul(transposeLast(xs) as tf.Tensor2D, dy as tf.Tensor2D)];
      },
    };
  });
  return f(a, b);
}

/**
 * x · wteᵀ for a frozen wte [V, C]. With many rows (training micro-batches, evaluation chunks) on wasm it is
 * computed as (wte · xᵀ)ᵀ: XNNPACK then packs the small xᵀ [C, N] and streams the 154 MB embedding once as
 * the left operand, instead of running N rows against a packed [C, V] right operand that does not fit any
 * cache. Measured on the 124M shape, [254, 768]·[768, 50257], 2 threads (bench/lmhead-probe.ts): 918 ms
 * against 1565 ms, transposes included. A few rows (decoding) keep the cached wteᵀ.
 */
function frozenHead(x: tf.Tensor2D, wte: tf.Tensor2D, wteT?: tf.Tensor2D): tf.Tensor2D {
  if (x.shape[0] >= HEAD_AS_LEFT_MIN_ROWS && tf.getBackend() === 'wasm') {
    return tf.tidy(() => tf.transpose(tf.matMul(wte, tf.transpose(x) as tf.Tensor2D)) as tf.Tensor2D);
  }
  return tf.tidy(() => tf.matMul(x, wteT ?? (tf.transpose(wte) as tf.Tensor2D)));
}
const HEAD_AS_LEFT_MIN_ROWS = 64;

/**
 * Tied LM head: logits = x · wteᵀ for x [N, C], wte [V, C] -> [N, V].
 * `wteT` ([C, V]) may be passed when already computed (frozen embeddings, generation). The gradient with
 * respect to wte (dWte = dYᵀ · x) is computed only when wte is trainable.
 */
export function lmHead(x: tf.Tensor2D, wte: tf.Tensor2D, wteT?: tf.Tensor2D): tf.Tensor2D {
  if (!wantsExplicitTransposes() && !wteT) return tf.matMul(x, wte, false, true);
  if (!isTrainable(wte)) {
    const f = custom((h: tf.Tensor, save: tf.GradSaveFunc) => {
      save([]);
      return { value: frozenHead(h as tf.Tensor2D, wte, wteT), gradFunc: (dy: tf.Tensor) => [tf.matMul(dy as tf.Tensor2D, wte)] };
    });
    return f(x) as tf.Tensor2D;
  }
  const f = custom((h: tf.Tensor, w: tf.Tensor, save: tf.GradSaveFunc) => {
    save([h, w]);
    return {
      value: tf.matMul(h as tf.Tensor2D, (wteT ?? tf.transpose(w)) as tf.Tensor2D),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [hs, ws] = saved as tf.Tensor2D[];
        return [tf.matMul(dy as tf.Tensor2D, ws), tf.matMul(tf.transpose(dy) as tf.Tensor2D, hs)];
      },
    };
  });
  return f(x, wte) as tf.Tensor2D;
}

/**
 * Mean cross-entropy of logits [N, V] against integer targets [N] (Hugging Face's causal-LM loss once the
 * shift is done). Gradient: (softmax - onehot) / N, written out so no gather gradient is needed.
 */
export function crossEntropy(logits: tf.Tensor2D, targets: tf.Tensor1D): tf.Scalar {
  const V = logits.shape[1];
  const f = custom((z: tf.Tensor, save: tf.GradSaveFunc) => {
    // int32 then cast: tfjs-backend-wasm 4.22's OneHot ignores its dtype argument and writes int bits.
    const onehot = tf.cast(tf.oneHot(targets, V), 'float32');
    const lse = tf.logSumExp(z, -1); // [N]
    const picked = tf.sum(tf.mul(z, onehot), -1); // [N]
    const loss = tf.mean(tf.sub(lse, picked)) as tf.Scalar;
    save([z, onehot]);
    return {
      value: loss,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [zs, oh] = saved;
        const n = zs.shape[0];
        return [tf.mul(tf.sub(tf.softmax(zs), oh), tf.div(dy, n))];
      },
    };
  });
  return f(logits) as tf.Scalar;
}

/**
 * gelu_new: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))) = x·σ(2√(2/π)·(x + 0.044715·x³)), since
 * 0.5·(1 + tanh(u)) = σ(2u). the sigmoid form (tfjs-backend-wasm's Sigmoid is XNNPACK's vectorised
 * kernel, ~6× faster than its Tanh: 1.5 vs 9.7 ms on [256, 1536]; max |difference| 2e-7), as one
 * custom-gradient op that saves x and σ (the plain composition keeps 9 full-size intermediates alive until
 * the end of the backward pass, and as many gradients).
 */
export function geluNew(x: tf.Tensor): tf.Tensor {
  if (canFuse('QuijoteGeluNew')) return tf.engine().runKernel('QuijoteGeluNew', { x }) as tf.Tensor;
  if (fusedTrainingOps()) { // WebGPU: one dispatch each way (kernels/webgpu-fused.ts)
    const f = custom((xx: tf.Tensor, save: tf.GradSaveFunc) => {
      save([xx]);
      return {
        value: tf.engine().runKernel('QuijoteGeluNew', { x: xx }) as tf.Tensor,
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [tf.engine().runKernel('QuijoteGeluNewGrad', { x: saved[0], dy }) as tf.Tensor],
      };
    });
    return f(x);
  }
  const k = 2 * Math.sqrt(2 / Math.PI), a = 0.044715;
  const sig = (xx: tf.Tensor) => tf.sigmoid(tf.mul(tf.mul(xx, tf.add(tf.mul(tf.mul(xx, xx), a), 1)), k));
  const f = custom((xx: tf.Tensor, save: tf.GradSaveFunc) => {
    const s = sig(xx);
    save([xx, s]);
    return {
      value: tf.mul(xx, s),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, ss] = saved;
        // d/dx x·σ(g(x)) = σ + x·σ·(1 − σ)·g'(x), g'(x) = k·(1 + 3a·x²)
        const dg = tf.mul(tf.add(tf.mul(tf.mul(xs, xs), 3 * a), 1), k);
        return [tf.mul(dy, tf.add(ss, tf.mul(tf.mul(xs, tf.mul(ss, tf.sub(1, ss))), dg)))];
      },
    };
  });
  return f(x);
}

/**
 * LayerNorm over the last axis with biased variance, as torch.nn.functional.layer_norm.
 * custom gradient saving x̂ and 1/σ only.
 */
export function layerNorm(x: tf.Tensor, g: tf.Tensor, b: tf.Tensor, eps: number): tf.Tensor {
  if (canFuse('QuijoteLayerNorm')) return tf.engine().runKernel('QuijoteLayerNorm', { x, gamma: g, beta: b }, { eps }) as tf.Tensor;
  if (fusedTrainingOps()) { // WebGPU: 1 dispatch forward, 5 backward (kernels/webgpu-fused.ts)
    const f = custom((xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor, save: tf.GradSaveFunc) => {
      save([xx, gg]);
      return {
        value: tf.engine().runKernel('QuijoteLayerNorm', { x: xx, gamma: gg, beta: bb }, { eps }) as tf.Tensor,
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const [xs, gs] = saved;
          const lead = [...Array(dy.rank - 1).keys()];
          const dx = tf.engine().runKernel('QuijoteLayerNormGradX', { x: xs, gamma: gs, dy }, { eps }) as tf.Tensor;
          const xhat = tf.engine().runKernel('QuijoteLayerNormXhat', { x: xs }, { eps }) as tf.Tensor;
          return [dx, tf.sum(tf.mul(dy, xhat), lead), tf.sum(dy, lead)];
        },
      };
    });
    return f(x, g, b);
  }
  const f = custom((xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor, save: tf.GradSaveFunc) => {
    const { mean, variance } = tf.moments(xx, -1, true);
    const rstd = tf.rsqrt(tf.add(variance, eps));
    const xhat = tf.mul(tf.sub(xx, mean), rstd);
    save([xhat, rstd, gg]);
    return {
      value: tf.add(tf.mul(xhat, gg), bb),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xh, rs, gs] = saved;
        const lead = [...Array(dy.rank - 1).keys()];
        const dxhat = tf.mul(dy, gs);
        const dx = tf.mul(tf.sub(tf.sub(dxhat, tf.mean(dxhat, -1, true)), tf.mul(xh, tf.mean(tf.mul(dxhat, xh), -1, true))), rs);
        return [dx, tf.sum(tf.mul(dy, xh), lead), tf.sum(dy, lead)];
      },
    };
  });
  return f(x, g, b);
}

/**
 * Inverted dropout with tf.dropout's mask for the same seed (so runs match core's), as one custom-gradient op
 * that saves only the multiplier (tf.dropout keeps 4 full-size intermediates and as many gradients). On WebGPU
 * the mask is made on the GPU (kernels/webgpu-random.ts): tf.dropout draws its numbers in JavaScript.
 */
export function dropoutOp(x: tf.Tensor, rate: number, seed: number): tf.Tensor {
  const f = custom((xx: tf.Tensor, save: tf.GradSaveFunc) => {
    const keep = tf.getBackend() === 'webgpu' ? webgpuDropoutMask(xx.shape, rate, seed) : tf.dropout(tf.onesLike(xx), rate, undefined, seed);
    save([keep]);
    return { value: tf.mul(xx, keep), gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [tf.mul(dy, saved[0])] };
  });
  return f(x);
}
