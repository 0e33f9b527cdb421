/**
 * LoRA adapters (Hu et al., 2021) on GPT-2's Conv1D weights, as PEFT does it: for a target weight W [in, out],
 * ΔW = (alpha / r) · A·B with A [in, r] ~ U(−1/√in, 1/√in) (PEFT's kaiming-uniform) and B [r, out] = 0, so
 * training starts exactly at the base model. The base weights stay frozen and shared: "before" is simply the
 * base model with the adapter off.
 */
import * as tf from '@tensorflow/tfjs-core';
import { QuijoteError } from '../errors.ts';
import type { GPT2, LoraSet } from '../model/gpt2.ts';
import type { StateDict } from '../model/checkpoint.ts';
import { variableFrom } from '../model/ops.ts';

export interface LoraOptions { rank: number; alpha: number; dropout: number; targets: string[] /* e.g. ["c_attn"] */ }

export const DEFAULT_LORA: LoraOptions = { rank: 8, alpha: 16, dropout: 0.05, targets: ['c_attn'] };

const TARGETABLE = ['c_attn', 'c_proj', 'c_fc'];

/** Weight names a target list selects: "c_attn" → h.*.attn.c_attn.weight; "c_proj" → both attn and mlp c_proj. */
export function loraTargetNames(model: GPT2, targets: string[]): string[] {
  for (const t of targets) {
    if (!TARGETABLE.includes(t)) {
      throw new QuijoteError('BAD_ARGUMENT', `Módulo LoRA desconocido «${t}».`, { hint: `Usa alguno de: ${TARGETABLE.join(', ')}.` });
    }
  }
  return Object.keys(model.weights).filter((n) => /^h\.\d+\./.test(n) && n.endsWith('.weight') && targets.some((t) => n.endsWith(`.${t}.weight`)));
}

export function createLora(model: GPT2, opts: LoraOptions, seed: number): LoraSet {
  const set: LoraSet = {};
  let s = seed;
  for (const name of loraTargetNames(model, opts.targets)) {
    const [inDim, outDim] = model.weights[name].shape;
    const bound = 1 / Math.sqrt(inDim);
    set[name] = {
      A: variableFrom(tf.randomUniform([inDim, opts.rank], -bound, bound, 'float32', s++)),
      B: variableFrom(tf.zeros([opts.rank, outDim])),
      scale: opts.alpha / opts.rank,
      dropout: opts.dropout,
    };
  }
  return set;
}

export function loraVariables(set: LoraSet): tf.Variable[] {
  return Object.values(set).flatMap((p) => [p.A, p.B]);
}

export function disposeLora(set: LoraSet): void {
  for (const v of loraVariables(set)) v.dispose();
}

/** PEFT's adapter files: adapter_config.json and the tensors of adapter_model.safetensors (nn.Linear layout). */
export async function peftAdapter(set: LoraSet, opts: LoraOptions, baseModel: string): Promise<{ config: Record<string, unknown>; tensors: StateDict }> {
  const tensors: StateDict = new Map();
  for (const [name, p] of Object.entries(set)) {
    const key = `base_model.model.transformer.${name.replace(/\.weight$/, '')}`;
    const a = tf.transpose(p.A), b = tf.transpose(p.B); // PEFT stores lora_A [r, in], lora_B [out, r]
    tensors.set(`${key}.lora_A.weight`, { shape: a.shape, data: (await a.data()) as Float32Array });
    tensors.set(`${key}.lora_B.weight`, { shape: b.shape, data: (await b.data()) as Float32Array });
    a.dispose(); b.dispose();
  }
  const config = {
    peft_type: 'LORA', task_type: 'CAUSAL_LM', base_model_name_or_path: baseModel, r: opts.rank, lora_alpha: opts.alpha,
    lora_dropout: opts.dropout, target_modules: opts.targets, fan_in_fan_out: true, bias: 'none', inference_mode: true,
  };
  return { config, tensors };
}
