/**
 * The contract of the ML engine. The real implementation lives in core/pipeline/tfjs-engine.ts and runs in the
 * compute process (and in the CLI); the bot never calls it directly but sends jobs (core/jobs/protocol.ts).
 * Tests of commands use a fake that honours the same contract behind the in-process transport.
 */
import type { Inspector } from './inspect/inspector.ts';

/** Parameters a teacher may set for one fine-tuning run. Missing ones take the configured defaults. */
export interface TrainParams {
  lines: number;
  epochs?: number;
  lr?: number;
  seed?: number;
  /**
   * The teacher's own text (`/train archivo:… mezcla:70`): `lines` are then the training lines in all, `mix` %
   * of them the Quijote's first lines and the rest the text's first lines, interleaved under `seed`
   * (core/text/teacher-mix.ts). The text's last lines are held out for a second evaluation.
   */
  text?: TrainingText;
}

/** A teacher's text as it travels with a training job: data, never a path (a remote worker has no bot DATA_DIR). */
export interface TrainingText {
  /** sha256 of the checked lines (core/text/teacher-store.ts); compute recomputes it and refuses a mismatch. */
  hash: string;
  /** The file's name, as the class saw it. */
  name: string;
  /** Percentage of Quijote lines among the training lines, 0–100. */
  mix: number;
  /** The whole checked text, one non-empty line each (the held-out lines included). */
  lines: string[];
}

/** The second evaluation of a run with a teacher's text: its held-out lines, before and after training. */
export interface TeacherEval {
  name: string;
  /** Held-out lines of the teacher's text (never trained on). */
  lines: number;
  lossBefore: number;
  lossAfter: number;
  perplexityBefore: number;
  perplexityAfter: number;
}

/** Emitted after every optimizer step (and once at the start with step 0). */
export interface TrainProgress {
  step: number;
  totalSteps: number;
  epoch: number; // fractional, e.g. 1.5
  loss: number; // running mean training loss of the last optimizer step
  learningRate: number;
  tokensPerSecond: number;
  etaSeconds: number;
}

export interface TrainResult {
  modelDir: string; // folder loadable by Engine.story/score and by Hugging Face Python (LoRA: a PEFT adapter of the base)
  lines: number;
  epochs: number;
  lr: number;
  method: 'full' | 'lora';
  evalLossBefore: number;
  evalLossAfter: number;
  perplexityBefore: number;
  perplexityAfter: number;
  lossCurve: Array<{ step: number; loss: number }>;
  optimizerSteps: number;
  seconds: number;
  /** With a teacher's text: the lines trained on from each source, and the evaluation on its held-out lines. */
  teacherEval?: TeacherEval;
  quijoteLines?: number;
  teacherLines?: number;
}

export interface StoryResult {
  prompt: string;
  text: string; // the story (prompt excluded), cut after the fifth sentence when there are five
  sentences: number;
  complete: boolean; // false when fewer than five sentences came out
  newTokens: number;
}

export interface ScoreResult {
  tokens: number;
  loss: number;
  perplexity: number;
}

/**
 * Runs one GPU slice (an optimizer step, a generation, a scoring pass). The compute process passes a function
 * that goes through its GPU queue so that a /story can run between two training steps.
 */
export type GpuSlice = <T>(fn: () => Promise<T>) => Promise<T>;

export interface TrainOptions {
  onProgress?: (p: TrainProgress) => void;
  signal?: AbortSignal; // cancellation at the next optimizer-step boundary (rejects with QuijoteError CANCELLED)
  slice?: GpuSlice;
  /**
   * Called once the class model folder is complete and before the after-training evaluation, which then runs
   * through `slice` a few blocks at a time: the bot can post the blind poll (two stories) right away and edit
   * the perplexity line in when `train()` resolves. `train()`'s result still carries evalLossAfter.
   */
  onSaved?: (info: { modelDir: string; evalLossBefore: number }) => void;
}

/**
 * The /story sampling knobs a class may set for one poll (Hugging Face names: temperature, top_k, top_p,
 * repetition_penalty). Missing ones take the configured defaults.
 */
export interface SamplingOverrides {
  temperature?: number;
  topK?: number;
  topP?: number;
  repetitionPenalty?: number;
}

export interface StoryOptions {
  seed?: number;
  sampling?: SamplingOverrides;
  onText?: (textSoFar: string) => void;
  slice?: GpuSlice;
  /** Stops the generation at the next token (rejects with QuijoteError CANCELLED). */
  signal?: AbortSignal;
}

export interface Engine {
  /** Fine-tune the base model on the first `params.lines` lines; saves into `outDir`. */
  train(params: TrainParams, outDir: string, options?: TrainOptions): Promise<TrainResult>;
  /** A 5-sentence story from the base model (modelDir null) or a fine-tuned folder. */
  story(prompt: string, modelDir: string | null, options?: StoryOptions): Promise<StoryResult>;
  /** Mean next-token loss and perplexity of `text`. */
  score(text: string, modelDir: string | null, options?: { slice?: GpuSlice }): Promise<ScoreResult>;
  /** The training lines that `lines` selects (for corpus traces in /reveal). */
  trainingLines(lines: number): Promise<string[]>;
  /** Largest valid `lines` value. */
  maxLines(): Promise<number>;
  /** Human description of the backend and base model, e.g. "wasm · datificate/gpt2-small-spanish". */
  describe(): string;
  /** The model-inspection views (core/inspect): base vs class model; absent where the engine has none. */
  inspect?: Inspector;
}
