/**
 * GPT-2 configuration read from a Hugging Face `config.json`. Every field the computation depends on is read
 * from the file; settings this implementation does not support are rejected with a clear message.
 */
import { QuijoteError } from '../errors.ts';

export interface GPT2Config {
  vocabSize: number;
  nPositions: number;
  nEmbd: number;
  nLayer: number;
  nHead: number;
  nInner: number; // MLP width, 4 * nEmbd when config says null
  layerNormEpsilon: number;
  embdPdrop: number;
  attnPdrop: number;
  residPdrop: number;
  bosTokenId: number | null;
  eosTokenId: number | null;
  tieWordEmbeddings: boolean;
  scaleAttnWeights: boolean;
}

type Json = Record<string, unknown>;

function num(cfg: Json, key: string, source: string, fallback?: number): number {
  const v = cfg[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new QuijoteError('MODEL_CORRUPT', `${source}: \`${key}\` debe ser un número, es ${JSON.stringify(cfg[key])}.`, {
      hint: 'Revisa config.json o vuelve a descargar el modelo.',
    });
  }
  return v;
}

function reject(source: string, what: string): never {
  throw new QuijoteError('MODEL_UNSUPPORTED', `${source}: ${what} no está soportado por este GPT-2.`, {
    hint: 'Usa un checkpoint GPT2LMHeadModel estándar (p. ej. datificate/gpt2-small-spanish).',
  });
}

/** Validates and normalises a GPT-2 config.json object. `source` names the file in messages. */
export function parseGPT2Config(cfg: Json, source: string): GPT2Config {
  if (cfg.model_type !== undefined && cfg.model_type !== 'gpt2') reject(source, `model_type «${String(cfg.model_type)}»`);
  const act = cfg.activation_function ?? 'gelu_new';
  if (act !== 'gelu_new') reject(source, `activation_function «${String(act)}» (solo gelu_new)`);
  if (cfg.scale_attn_by_inverse_layer_idx === true) reject(source, '`scale_attn_by_inverse_layer_idx: true`');
  if (cfg.reorder_and_upcast_attn === true) reject(source, '`reorder_and_upcast_attn: true`');
  if (cfg.add_cross_attention === true) reject(source, '`add_cross_attention: true`');
  const nEmbd = num(cfg, 'n_embd', source);
  const nHead = num(cfg, 'n_head', source);
  if (nEmbd % nHead !== 0) {
    throw new QuijoteError('MODEL_CORRUPT', `${source}: n_embd (${nEmbd}) no es múltiplo de n_head (${nHead}).`);
  }
  const nInner = cfg.n_inner == null ? 4 * nEmbd : num(cfg, 'n_inner', source);
  const id = (k: string) => (typeof cfg[k] === 'number' ? (cfg[k] as number) : null);
  return {
    vocabSize: num(cfg, 'vocab_size', source),
    nPositions: num(cfg, 'n_positions', source, cfg.n_ctx as number | undefined),
    nEmbd,
    nLayer: num(cfg, 'n_layer', source),
    nHead,
    nInner,
    layerNormEpsilon: num(cfg, 'layer_norm_epsilon', source, 1e-5),
    embdPdrop: num(cfg, 'embd_pdrop', source, 0.1),
    attnPdrop: num(cfg, 'attn_pdrop', source, 0.1),
    residPdrop: num(cfg, 'resid_pdrop', source, 0.1),
    bosTokenId: id('bos_token_id'),
    eosTokenId: id('eos_token_id'),
    tieWordEmbeddings: cfg.tie_word_embeddings !== false,
    scaleAttnWeights: cfg.scale_attn_weights !== false,
  };
}

/** The config.json Hugging Face writes for this model (used when saving a fine-tuned folder). */
export function toHFConfig(c: GPT2Config, original: Json = {}): Json {
  return {
    ...original,
    activation_function: 'gelu_new',
    architectures: ['GPT2LMHeadModel'],
    model_type: 'gpt2',
    vocab_size: c.vocabSize,
    n_positions: c.nPositions,
    n_embd: c.nEmbd,
    n_layer: c.nLayer,
    n_head: c.nHead,
    n_inner: c.nInner === 4 * c.nEmbd ? null : c.nInner,
    layer_norm_epsilon: c.layerNormEpsilon,
    embd_pdrop: c.embdPdrop,
    attn_pdrop: c.attnPdrop,
    resid_pdrop: c.residPdrop,
    bos_token_id: c.bosTokenId,
    eos_token_id: c.eosTokenId,
    tie_word_embeddings: c.tieWordEmbeddings,
    scale_attn_weights: c.scaleAttnWeights,
  };
}

/** GPT-2 124M's shape (datificate/gpt2-small-spanish), for benchmarks with random weights. */
export const GPT2_124M: GPT2Config = {
  vocabSize: 50257, nPositions: 1024, nEmbd: 768, nLayer: 12, nHead: 12, nInner: 3072, layerNormEpsilon: 1e-5,
  embdPdrop: 0.1, attnPdrop: 0.1, residPdrop: 0.1, bosTokenId: 50256, eosTokenId: 50256, tieWordEmbeddings: true, scaleAttnWeights: true,
};
