/**
 * The style dial's film: the same prompt and seed generated at several intensities α (interpolate.ts), each a
 * five-sentence story like /story's. Only one interpolated model exists at a time.
 */
import { generate } from '../sample/generate.ts';
import type { GenerationConfig } from '../sample/processors.ts';
import { cutStory } from '../story/sentences.ts';
import { interpolate } from './interpolate.ts';
import type { ModelPair } from './lm.ts';

import { FILM_ALPHAS } from './requests.ts';

export { FILM_ALPHAS };

export interface DialStory { alpha: number; text: string; sentences: number; complete: boolean; newTokens: number }

/** One story at intensity α (0 = base model, 1 = class model). */
export async function storyAt(pair: ModelPair, prompt: string, alpha: number, cfg: GenerationConfig, onText?: (text: string) => void): Promise<DialStory> {
  const dial = interpolate(pair.base, pair.cls, alpha);
  try {
    const promptIds = pair.tokenizer.encode(prompt);
    const out = await generate(dial.ref.model, promptIds, cfg, {
      lora: dial.ref.lora ?? null,
      onToken: (_id, ids) => {
        const text = pair.tokenizer.decode(ids.slice(promptIds.length) as number[]);
        onText?.(text);
        return cutStory(text).complete;
      },
    });
    const story = cutStory(pair.tokenizer.decode(out.newIds));
    return { alpha, text: story.text, sentences: story.sentences, complete: story.complete, newTokens: out.newIds.length };
  } finally {
    dial.dispose();
  }
}

/** The film: one story per α, same prompt and seed. */
export async function filmStories(pair: ModelPair, prompt: string, cfg: GenerationConfig, alphas: readonly number[] = FILM_ALPHAS, slice: <T>(fn: () => Promise<T>) => Promise<T> = (fn) => fn()): Promise<DialStory[]> {
  const out: DialStory[] = [];
  for (const a of alphas) out.push(await slice(() => storyAt(pair, prompt, a, cfg)));
  return out;
}
