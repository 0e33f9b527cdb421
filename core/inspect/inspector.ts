/**
 * The inspection views as one service over (base, class) model pairs: what the bot asks for, in serializable
 * requests and results (plain numbers and strings, no tensors), so each can run as one job wherever the models
 * live. The engine builds it with `pairFor` (how it finds the resident base and the class model of a folder —
 * its own folder, or an adapter on the base) and the held-out lines.
 */
import type { GpuSlice } from '../engine.ts';
import { QuijoteError } from '../errors.ts';
import type { GenerationConfig } from '../sample/processors.ts';
import { compareAttention, type AttentionView } from './attention.ts';
import { filmStories, storyAt, type DialStory } from './film.ts';
import type { ModelPair } from './lm.ts';
import { compareText, wordShifts, type TokenDelta, type WordShifts } from './logprobs.ts';
import { compareNextTokens, type NextTokenView, type SamplerSettings } from './next-tokens.ts';

export interface WordsResult {
  tokens: TokenDelta[];
  truncated: boolean;
  /** words gained and lost on the held-out lines (computed once per class model) */
  shifts: WordShifts;
}

export interface NextTokensResult {
  /** the context the bars are for, as ids and as text */
  ids: number[];
  text: string;
  sampler: SamplerSettings;
  base: NextTokenView;
  cls: NextTokenView;
}

/** `signal`: a cancelled job stops between frames (film) and between blocks (words gained/lost). */
export interface SliceOption { slice?: GpuSlice; signal?: AbortSignal }

export interface Inspector {
  /** Per-token log p(class) − log p(base) of `text`, and the words gained/lost on the held-out lines. */
  words(text: string, modelDir: string, options?: SliceOption): Promise<WordsResult>;
  /** The next-token bars after `context` (text, or ids when continuing); sampler fields default to the settings'. */
  nextTokens(context: string | number[], modelDir: string, sampler?: Partial<SamplerSettings>, options?: SliceOption): Promise<NextTokensResult>;
  /** One story at intensity α (0 base … 1 class … 1.5). */
  dialStory(prompt: string, modelDir: string, alpha: number, seed: number, options?: SliceOption): Promise<DialStory>;
  /** The same prompt and seed at each α. */
  film(prompt: string, modelDir: string, alphas: readonly number[], seed: number, options?: SliceOption): Promise<DialStory[]>;
  /** Attention of `word` in `text` to the tokens before it, per layer, both models. */
  attention(text: string, word: string, modelDir: string, options?: SliceOption): Promise<AttentionView>;
}

export interface InspectorDeps {
  /** The base model and the class model of `modelDir`, resident (the caller's cache owns them). */
  pairFor(modelDir: string): Promise<ModelPair>;
  /** The held-out (evaluation) lines of the book. */
  heldOutLines(): Promise<string[]>;
  generationConfig(overrides: Partial<GenerationConfig>): GenerationConfig;
  blockSize: number;
  /** Fewest occurrences for a word to be listed as gained or lost. */
  minWordCount?: number;
}

const direct: GpuSlice = (fn) => fn();

function stopIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new QuijoteError('CANCELLED', 'The job was cancelled.');
}

export function createInspector(deps: InspectorDeps): Inspector {
  const shiftsCache = new Map<string, Promise<WordShifts>>(); // per class-model folder
  const sampler = (o: Partial<SamplerSettings> = {}): SamplerSettings => {
    const g = deps.generationConfig({});
    return { temperature: o.temperature ?? g.temperature ?? 1, topK: o.topK ?? g.top_k ?? 0, topP: o.topP ?? g.top_p ?? 1, repetitionPenalty: o.repetitionPenalty ?? g.repetition_penalty ?? 1 };
  };
  const shiftsFor = (modelDir: string, slice: GpuSlice, signal?: AbortSignal): Promise<WordShifts> => {
    let p = shiftsCache.get(modelDir);
    if (!p) {
      p = (async () => wordShifts(() => deps.pairFor(modelDir), await deps.heldOutLines(), { blockSize: deps.blockSize, minCount: deps.minWordCount ?? 3, slice: (fn) => { stopIfAborted(signal); return slice(fn); } }))();
      p.catch(() => shiftsCache.delete(modelDir));
      shiftsCache.set(modelDir, p);
      while (shiftsCache.size > 8) shiftsCache.delete(shiftsCache.keys().next().value as string);
    }
    return p;
  };
  return {
    async words(text, modelDir, o = {}) {
      const slice = o.slice ?? direct;
      const cmp = await slice(async () => compareText(await deps.pairFor(modelDir), text));
      return { tokens: cmp.tokens, truncated: cmp.truncated, shifts: await shiftsFor(modelDir, slice, o.signal) };
    },
    async nextTokens(context, modelDir, s = {}, o = {}) {
      const settings = sampler(s);
      return (o.slice ?? direct)(async () => {
        const pair = await deps.pairFor(modelDir);
        const ids = typeof context === 'string' ? pair.tokenizer.encode(context) : [...context];
        const v = await compareNextTokens(pair, ids, settings);
        return { ids, text: pair.tokenizer.decode(ids), sampler: settings, base: v.base, cls: v.cls };
      });
    },
    async dialStory(prompt, modelDir, alpha, seed, o = {}) {
      return (o.slice ?? direct)(async () => {
        const pair = await deps.pairFor(modelDir);
        return storyAt(pair, prompt, alpha, deps.generationConfig({ seed, eos_token_id: pair.tokenizer.eosTokenId ?? pair.base.model.config.eosTokenId }));
      });
    },
    async film(prompt, modelDir, alphas, seed, o = {}) {
      const slice = o.slice ?? direct;
      const out: DialStory[] = [];
      for (const a of alphas) { // one slice per frame: a training step may run between two frames
        stopIfAborted(o.signal);
        out.push(...await slice(async () => {
          const pair = await deps.pairFor(modelDir);
          return filmStories(pair, prompt, deps.generationConfig({ seed, eos_token_id: pair.tokenizer.eosTokenId ?? pair.base.model.config.eosTokenId }), [a]);
        }));
      }
      return out;
    },
    async attention(text, word, modelDir, o = {}) {
      return (o.slice ?? direct)(async () => compareAttention(await deps.pairFor(modelDir), text, word));
    },
  };
}
