/**
 * A deterministic Engine for command and job tests. train() runs `steps` optimizer steps, each through the
 * given GpuSlice (like the real engine), honouring the AbortSignal at step boundaries; story() and score() also
 * go through the slice. Every GPU slice is logged in `events` so tests can check the interleaving.
 */
import type { Engine, GpuSlice, SamplingOverrides, ScoreResult, StoryResult, TrainOptions, TrainParams, TrainResult } from '../../core/engine.ts';
import { QuijoteError } from '../../core/errors.ts';

export interface Deferred<T = void> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Holds named points ("train:3", "story:base") shut until the test opens them; tests can wait until one is reached. */
export class Gate {
  private readonly held = new Map<string, Deferred>();
  private readonly arrivals = new Map<string, Deferred>();
  private readonly closed = new Set<string>();

  /** Makes `point` wait for release(point) (call before the point is reached). */
  hold(point: string): void {
    this.closed.add(point);
  }

  release(point: string): void {
    this.closed.delete(point);
    this.entry(this.held, point).resolve();
  }

  reached(point: string): Promise<void> {
    return this.entry(this.arrivals, point).promise;
  }

  async pass(point: string): Promise<void> {
    this.entry(this.arrivals, point).resolve();
    if (this.closed.has(point)) await this.entry(this.held, point).promise;
  }

  private entry(map: Map<string, Deferred>, point: string): Deferred {
    let d = map.get(point);
    if (!d) {
      d = deferred();
      map.set(point, d);
    }
    return d;
  }
}

/** A few real opening lines of Don Quixote (Gutenberg spelling). */
export const FAKE_CORPUS = [
  'En un lugar de la Mancha, de cuyo nombre no quiero acordarme, no ha mucho tiempo que vivía un hidalgo',
  'de los de lanza en astillero, adarga antigua, rocín flaco y galgo corredor.',
  'Una olla de algo más vaca que carnero, salpicón las más noches, duelos y quebrantos los sábados,',
  'lantejas los viernes, algún palomino de añadidura los domingos, consumían las tres partes de su hacienda.',
  'Es, pues, de saber que este sobredicho hidalgo, los ratos que estaba ocioso, que eran los más del año,',
  'se daba a leer libros de caballerías con tanta afición y gusto, que olvidó casi de todo punto el ejercicio de la caza.',
];

export const BASE_STORY = ' Había una vez un robot que quería aprender a cocinar. Cada tarde miraba vídeos en su tableta. Un día preparó una tortilla enorme. Sus amigos aplaudieron mucho. Desde entonces cocina los domingos.';
export const TUNED_STORY = ' Y las monjas, que vivían en un lugar de la Mancha, leían libros de caballerías con tanta afición que olvidaban rezar. La abadesa tenía un rocín flaco y galgo corredor. Salían los sábados a deshacer agravios. El obispo no daba crédito. Así acabó la cosa.';

export interface FakeEngineOptions {
  steps?: number;
  maxLines?: number;
  corpus?: string[];
  /** Called inside every training step's slice (e.g. to advance a manual clock). */
  onStep?: (step: number) => void;
  gate?: Gate;
}

export class FakeEngine implements Engine {
  readonly events: string[] = [];
  readonly trainCalls: Array<{ params: TrainParams; outDir: string }> = [];
  readonly storyCalls: Array<{ prompt: string; modelDir: string | null; seed?: number; sampling?: SamplingOverrides }> = [];
  readonly scoreCalls: Array<{ text: string; modelDir: string | null }> = [];
  steps: number;
  maxLinesValue: number;
  corpus: string[];
  gate: Gate;
  onStep?: (step: number) => void;
  /** When set, train() throws it after this many steps. */
  failTrainAfter?: { steps: number; error: Error };
  /** What story() writes (defaults BASE_STORY / TUNED_STORY). */
  storyTexts: { base: string; tuned: string } = { base: BASE_STORY, tuned: TUNED_STORY };

  constructor(o: FakeEngineOptions = {}) {
    this.steps = o.steps ?? 4;
    this.maxLinesValue = o.maxLines ?? 2000;
    this.corpus = o.corpus ?? FAKE_CORPUS;
    this.gate = o.gate ?? new Gate();
    this.onStep = o.onStep;
  }

  static lossAt(step: number, total: number): number {
    return 4 - (2 * step) / total;
  }

  async train(params: TrainParams, outDir: string, options: TrainOptions = {}): Promise<TrainResult> {
    this.trainCalls.push({ params, outDir });
    const slice: GpuSlice = options.slice ?? ((fn) => fn());
    const total = this.steps;
    const epochs = params.epochs ?? 1;
    const lr = params.lr ?? 1e-4;
    const progress = (step: number, loss: number) =>
      options.onProgress?.({
        step, totalSteps: total, epoch: (step / total) * epochs, loss, learningRate: lr, tokensPerSecond: 1234, etaSeconds: (total - step) * 2,
      });
    progress(0, FakeEngine.lossAt(0, total));
    const curve: Array<{ step: number; loss: number }> = [];
    for (let step = 1; step <= total; step++) {
      if (options.signal?.aborted) throw new QuijoteError('CANCELLED', `Training stopped before step ${step}.`);
      if (this.failTrainAfter && step > this.failTrainAfter.steps) throw this.failTrainAfter.error;
      await slice(async () => {
        this.events.push(`train:${step}`);
        await this.gate.pass(`train:${step}`);
        this.onStep?.(step);
      });
      const loss = FakeEngine.lossAt(step, total);
      curve.push({ step, loss });
      progress(step, loss);
      await new Promise((r) => setImmediate(r)); // a real step takes time: its progress message reaches the bot first
    }
    options.onSaved?.({ modelDir: outDir, evalLossBefore: 4.2 });
    await slice(async () => {
      this.events.push('eval:after');
      await this.gate.pass('eval:after');
    });
    return {
      modelDir: outDir, lines: params.lines, epochs, lr, method: 'full',
      evalLossBefore: 4.2, evalLossAfter: 3.1, perplexityBefore: Math.exp(4.2), perplexityAfter: Math.exp(3.1),
      lossCurve: curve, optimizerSteps: total, seconds: total * 2,
      // with a teacher's text: its held-out evaluation (perplexity e^5 → e^4) and the lines of each source
      ...(params.text ? {
        teacherEval: { name: params.text.name, lines: 5, lossBefore: 5, lossAfter: 4, perplexityBefore: Math.exp(5), perplexityAfter: Math.exp(4) },
        quijoteLines: Math.round((params.lines * params.text.mix) / 100), teacherLines: params.lines - Math.round((params.lines * params.text.mix) / 100),
      } : {}),
    };
  }

  async story(prompt: string, modelDir: string | null, options: { seed?: number; sampling?: SamplingOverrides; slice?: GpuSlice } = {}): Promise<StoryResult> {
    this.storyCalls.push({ prompt, modelDir, seed: options.seed, sampling: options.sampling });
    const which = modelDir ? 'tuned' : 'base';
    const slice: GpuSlice = options.slice ?? ((fn) => fn());
    const text = await slice(async () => {
      this.events.push(`story:${which}`);
      await this.gate.pass(`story:${which}`);
      return modelDir ? this.storyTexts.tuned : this.storyTexts.base;
    });
    return { prompt, text, sentences: 5, complete: true, newTokens: 60 };
  }

  /** Perplexity 30 under the base model; under a fine-tuned one 12 for texts that mention "Mancha", 29 otherwise. */
  async score(text: string, modelDir: string | null, options: { slice?: GpuSlice } = {}): Promise<ScoreResult> {
    this.scoreCalls.push({ text, modelDir });
    const slice: GpuSlice = options.slice ?? ((fn) => fn());
    return slice(async () => {
      this.events.push(`score:${modelDir ? 'tuned' : 'base'}`);
      await this.gate.pass(`score:${modelDir ? 'tuned' : 'base'}`);
      const perplexity = modelDir === null ? 30 : text.includes('Mancha') ? 12 : 29;
      return { tokens: text.split(/\s+/).length, loss: Math.log(perplexity), perplexity };
    });
  }

  async trainingLines(lines: number): Promise<string[]> {
    return this.corpus.slice(0, lines);
  }

  async maxLines(): Promise<number> {
    return this.maxLinesValue;
  }

  describe(): string {
    return 'fake · test-engine';
  }
}
