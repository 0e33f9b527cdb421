/**
 * Text <-> token ids for a Hugging Face GPT-2 folder, backed by @huggingface/tokenizers.
 * Uses tokenizer.json when present, else builds the equivalent byte-level BPE tokenizer.json
 * in memory from vocab.json + merges.txt.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { QuijoteError } from '../errors.ts';

export interface TextTokenizer {
  encode(text: string): number[];
  decode(ids: number[]): string;
  eosTokenId: number | null;
  vocabSize: number;
}

type Json = Record<string, unknown>;

const ENDOFTEXT = '<|endoftext|>';

async function readText(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new QuijoteError('MODEL_NOT_FOUND', `No se pudo leer ${path}: ${(cause as Error).message}.`, { cause, hint: 'Comprueba los permisos de la carpeta del modelo.' });
  }
}

function parseJson(text: string, path: string): Json {
  try {
    const v: unknown = JSON.parse(text);
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object');
    return v as Json;
  } catch (cause) {
    throw new QuijoteError('MODEL_CORRUPT', `${path} no es un objeto JSON válido.`, { cause, hint: 'Vuelve a descargar el tokenizador del modelo.' });
  }
}

/** A special token in tokenizer_config.json is either a string or {content: string, ...}. */
function tokenContent(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as Json).content === 'string') return (v as Json).content as string;
  return null;
}

/** Builds the tokenizer.json object that `tokenizers` saves for a GPT-2 byte-level BPE. */
export function gpt2TokenizerJson(vocab: Record<string, number>, mergesText: string, config: Json, mergesPath = 'merges.txt'): Json {
  const merges: [string, string][] = [];
  for (const [i, line] of mergesText.split(/\r?\n/).entries()) {
    if (line === '' || (i === 0 && line.startsWith('#version'))) continue;
    const parts = line.split(' ');
    if (parts.length !== 2) {
      throw new QuijoteError('MODEL_CORRUPT', `${mergesPath}, línea ${i + 1}: se esperaban dos símbolos separados por un espacio.`, { hint: 'Vuelve a descargar el tokenizador del modelo.' });
    }
    merges.push([parts[0], parts[1]]);
  }
  const specials = new Set<string>([ENDOFTEXT]);
  for (const key of ['bos_token', 'eos_token', 'unk_token', 'pad_token']) {
    const t = tokenContent(config[key]);
    if (t) specials.add(t);
  }
  const added_tokens = [...specials].filter((t) => t in vocab).sort((a, b) => vocab[a] - vocab[b]).map((content) => ({
    id: vocab[content], content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true,
  }));
  const addPrefixSpace = config.add_prefix_space === true;
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens,
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: addPrefixSpace, trim_offsets: true, use_regex: true },
    post_processor: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null,
      fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges,
    },
  };
}

/** Loads the tokenizer of a local HF model folder. */
export async function loadTokenizer(dir: string): Promise<TextTokenizer> {
  const configPath = join(dir, 'tokenizer_config.json');
  const configText = await readText(configPath);
  const config = configText === null ? {} : parseJson(configText, configPath);

  const tokPath = join(dir, 'tokenizer.json');
  const tokText = await readText(tokPath);
  let tokJson: Json;
  if (tokText !== null) {
    tokJson = parseJson(tokText, tokPath);
  } else {
    const vocabPath = join(dir, 'vocab.json');
    const mergesPath = join(dir, 'merges.txt');
    const [vocabText, mergesText] = await Promise.all([readText(vocabPath), readText(mergesPath)]);
    if (vocabText === null || mergesText === null) {
      throw new QuijoteError('MODEL_NOT_FOUND', `No hay tokenizador en ${dir}: falta tokenizer.json (o vocab.json + merges.txt).`, {
        hint: 'Pasa --model CARPETA con un GPT-2 completo en formato Hugging Face.',
      });
    }
    tokJson = gpt2TokenizerJson(parseJson(vocabText, vocabPath) as Record<string, number>, mergesText, config, mergesPath);
  }

  let tok: Tokenizer;
  try {
    // Exact round trips: only clean up spaces when the model asks for it explicitly.
    tok = new Tokenizer(tokJson, { ...config, clean_up_tokenization_spaces: config.clean_up_tokenization_spaces === true });
  } catch (cause) {
    throw new QuijoteError('MODEL_UNSUPPORTED', `El tokenizador de ${dir} no se pudo cargar: ${(cause as Error).message}.`, {
      cause, hint: 'Usa un GPT-2 con tokenizador BPE a nivel de byte (tokenizer.json o vocab.json + merges.txt).',
    });
  }

  const vocab = tok.get_vocab(true);
  let vocabSize = 0;
  for (const id of vocab.values()) vocabSize = Math.max(vocabSize, id + 1);
  const eosName = tokenContent(config.eos_token) ?? ENDOFTEXT;
  const eosTokenId = tok.token_to_id(eosName) ?? tok.token_to_id(ENDOFTEXT) ?? null;

  return {
    encode: (text: string): number[] => tok.encode(text).ids,
    decode: (ids: number[]): string => {
      const known = ids.filter((id) => Number.isInteger(id) && tok.id_to_token(id) !== undefined);
      return known.length === 0 ? '' : tok.decode(known);
    },
    eosTokenId,
    vocabSize,
  };
}
