/**
 * LoRA adapters (Hu et al., 2021) on GPT-2's Conv1D weights, as PEFT does it: for a target weight W [in, out],
 * ΔW = (alpha / r) · A·B with A [in, r] ~ U(−1/√in, 1/√in) (PEFT's kaiming-uniform) and B [r, out] = 0, so
 * training starts exactly at the base model. The base weights stay frozen and shared: "before" is simply the
 * base model with the adapter off.
 */
import * as tf from '@tensorflow/tfjs-core';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { QuijoteError } from '../errors.ts';
import type { GPT2, LoraSet } from '../model/gpt2.ts';
import type { StateDict } from '../model/checkpoint.ts';
import { variableFrom } from '../model/ops.ts';
import { parseSafetensors } from '../model/safetensors.ts';

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

export const ADAPTER_CONFIG = 'adapter_config.json';
export const ADAPTER_WEIGHTS = 'adapter_model.safetensors';

export interface LoadedAdapter { lora: LoraSet; config: Record<string, unknown> }

/**
 * Reads a PEFT LoRA adapter folder (what `peftAdapter` writes, or PEFT's own for GPT-2) as a LoraSet on
 * `model`'s weights: 1.2 MB for r 8 on c_attn of the 124M, applied to the resident base model instead of a
 * second full copy. Shapes are checked against the model, so an adapter of another base fails clearly.
 */
export async function loadAdapter(dir: string, model: GPT2): Promise<LoadedAdapter> {
  const bad = (why: string) => new QuijoteError('MODEL_CORRUPT', `${dir}: el adaptador LoRA no sirve (${why}).`, { hint: 'Vuelve a entrenar el modelo de la clase con /train.' });
  let config: Record<string, unknown>;
  try {
    config = JSON.parse(await readFile(join(dir, ADAPTER_CONFIG), 'utf8')) as Record<string, unknown>;
  } catch {
    throw bad(`${ADAPTER_CONFIG} falta o no es JSON`);
  }
  if (config.peft_type !== 'LORA') throw bad(`peft_type ${String(config.peft_type)}`);
  const r = Number(config.r), alpha = Number(config.lora_alpha ?? r);
  if (!(r > 0) || !Number.isFinite(alpha)) throw bad('r o lora_alpha no válidos');
  const tensors = parseSafetensors(new Uint8Array(await readFile(join(dir, ADAPTER_WEIGHTS)).catch(() => { throw bad(`falta ${ADAPTER_WEIGHTS}`); })), join(dir, ADAPTER_WEIGHTS));
  const set: LoraSet = {};
  try {
    for (const [key, t] of tensors) {
      const m = /^base_model\.model\.(?:transformer\.)?(.+)\.lora_A(?:\.default)?\.weight$/.exec(key);
      if (!m) continue;
      const name = `${m[1]}.weight`;
      const W = model.weights[name];
      const b = tensors.get(key.replace('.lora_A', '.lora_B'));
      if (!W || !b) throw bad(`${key} no corresponde a ningún peso del modelo base`);
      const [inDim, outDim] = W.shape;
      if (t.shape.join() !== `${r},${inDim}` || b.shape.join() !== `${outDim},${r}`) {
        throw bad(`${name}: A [${t.shape}] y B [${b.shape}] no encajan con el peso [${W.shape}] y r ${r}`);
      }
      set[name] = { // PEFT stores lora_A [r, in], lora_B [out, r]; ours are A [in, r], B [r, out]
        A: variableFrom(tf.tidy(() => tf.transpose(tf.tensor2d(t.data, [r, inDim]))), false),
        B: variableFrom(tf.tidy(() => tf.transpose(tf.tensor2d(b.data, [outDim, r]))), false),
        scale: alpha / r, dropout: Number(config.lora_dropout ?? 0),
      };
    }
    if (Object.keys(set).length === 0) throw bad('no contiene ningún par lora_A/lora_B');
  } catch (e) {
    disposeLora(set);
    throw e;
  }
  return { lora: set, config };
}
