/**
 * Small differentiable building blocks shared by the model and the trainer.
 *
 * On the wasm backend a matmul with transposeA/transposeB runs ~10× slower than a plain one, and autodiff's
 * backward pass of `a @ b` produces exactly those (dA = dY·Bᵀ, dB = Aᵀ·dY). `matmul` below gives the same
 * values with an explicit `transpose` (a cheap copy) followed by a plain matmul, and skips the gradient of a
 * frozen (non-trainable) weight altogether, which is what makes LoRA cheap.
 */
import * as tf from '@tensorflow/tfjs-core';

/** Is this tensor a weight that receives gradients? */
export function isTrainable(t: tf.Tensor): boolean {
  return t instanceof tf.Variable && t.trainable;
}

// tf.customGrad's typing wants variadic (Tensor | GradSaveFunc) parameters; our functions name them.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const custom = <T extends tf.Tensor>(f: (...args: any[]) => { value: T; gradFunc: (dy: T, saved: tf.Tensor[]) => tf.Tensor[] }) =>
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

/** a @ b for rank 2..4 (batched on leading axes) with transpose-free gradients on wasm. */
/** `bFrozen`: b is a weight that gets no gradient (LoRA's base weights); activations are never frozen. */
export function matmul(a: tf.Tensor, b: tf.Tensor, bFrozen = false): tf.Tensor {
  if (!wantsExplicitTransposes()) return tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D);
  if (bFrozen) {
    // Only a gets a gradient: dA = dY · Bᵀ.
    const f = custom((x: tf.Tensor, save: tf.GradSaveFunc) => {
      save([]);
      return { value: tf.matMul(x as tf.Tensor2D, b as tf.Tensor2D), gradFunc: (dy: tf.Tensor) => [tf.matMul(dy as tf.Tensor2D, transposeLast(b) as tf.Tensor2D)] };
    });
    return f(a);
  }
  const f = custom((x: tf.Tensor, y: tf.Tensor, save: tf.GradSaveFunc) => {
    save([x, y]);
    return {
      value: tf.matMul(x as tf.Tensor2D, y as tf.Tensor2D),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, ys] = saved;
        return [tf.matMul(dy as tf.Tensor2D, transposeLast(ys) as tf.Tensor2D), tf.matMul(transposeLast(xs) as tf.Tensor2D, dy as tf.Tensor2D)];
      },
    };
  });
  return f(a, b);
}

/**
 * Tied LM head: logits = x · wteᵀ for x [N, C], wte [V, C] -> [N, V].
 * `wteT` ([C, V]) may be passed when already computed (frozen embeddings, generation). The gradient with
 * respect to wte (dWte = dYᵀ · x) is computed only when wte is trainable.
 */
export function lmHead(x: tf.Tensor2D, wte: tf.Tensor2D, wteT?: tf.Tensor2D): tf.Tensor2D {
  if (!wantsExplicitTransposes() && !wteT) return tf.matMul(x, wte, false, true);
  if (!isTrainable(wte)) {
    const wt = wteT ?? (tf.transpose(wte) as tf.Tensor2D);
    const f = custom((h: tf.Tensor, save: tf.GradSaveFunc) => {
      save([]);
      return { value: tf.matMul(h as tf.Tensor2D, wt), gradFunc: (dy: tf.Tensor) => [tf.matMul(dy as tf.Tensor2D, wte)] };
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

/** gelu_new: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). */
export function geluNew(x: tf.Tensor): tf.Tensor {
  const inner = tf.mul(tf.add(x, tf.mul(tf.mul(tf.mul(x, x), x), 0.044715)), Math.sqrt(2 / Math.PI));
  return tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(inner), 1));
}

/** LayerNorm over the last axis with biased variance, as torch.nn.functional.layer_norm. */
export function layerNorm(x: tf.Tensor, g: tf.Tensor, b: tf.Tensor, eps: number): tf.Tensor {
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps))), g), b);
}
