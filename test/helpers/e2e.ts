/**
 * End-to-end rig: the REAL bot (bot/start.ts startBot → config, the compute child process running the real engine
 * from core/pipeline/tfjs-engine.ts on the tiny golden GPT-2 and the real Quijote text, SQLite store in a temporary
 * DATA_DIR, commands) wired to the real discord.js client / Bolt app, which talk to the loopback fakes. Only the
 * platform URLs differ from production, set the way an operator would: DISCORD_API_URL / SLACK_API_URL.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatNumber, formatPercent } from '../../commands/messages.ts';
import { pollStories } from '../../commands/poll.ts';
import { clip } from '../../commands/respond.ts';
import { escapeMarkdown } from '../../commands/text-safety.ts';
import type { Services } from '../../commands/types.ts';
import { startBot, type RunningBot } from '../../bot/start.ts';
import { isRepetitive } from '../../core/story/repetition.ts';
import { cutStory } from '../../core/story/sentences.ts';
import { findCorpusTraces } from '../../core/story/traces.ts';
import { measure, meterText } from '../../commands/meter.ts';
import type { InspectParams, InspectResultOf } from '../../core/inspect/requests.ts';
import type { PollRow, RunRow } from '../../core/store/types.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
export const MODEL_DIR = path.resolve(here, '../fixtures/gpt2-tiny-golden');
export const SHARED_DIR = path.resolve(process.env.QUIJOTE_SHARED ?? '../shared');
export const TEXT_FILE = path.join(SHARED_DIR, 'data', 'pg2000-don-quijote.txt');

/** A skip reason when the real book is not available, else false. */
export const missingBook: string | false = existsSync(TEXT_FILE)
  ? false
  : `needs the Gutenberg text at ${TEXT_FILE} (set QUIJOTE_SHARED to the folder holding data/pg2000-don-quijote.txt)`;

export const TRAIN_LINES = 20;
export const EPOCHS = 2;
export const LR = 0.005; // large enough that 20 lines visibly move the tiny random model's eval loss
export const MAX_NEW_TOKENS = 40;
/** A generous limit for anything that waits on training or generation (the whole scenario takes seconds). */
export const ML_TIMEOUT_MS = 45_000;

/** The environment of a classroom bot on the tiny model: small, fast and deterministic apart from the poll order. */
export function e2eEnv(dataDir: string, platformEnv: Record<string, string>): Record<string, string> {
  return {
    ...platformEnv,
    DATA_DIR: dataDir,
    QUIJOTE_MODEL: MODEL_DIR,
    QUIJOTE_TEXT: TEXT_FILE,
    QUIJOTE_BACKEND: 'wasm',
    QUIJOTE_SHARED: SHARED_DIR,
    HF_HUB_OFFLINE: '1',
    LOCALE: 'es',
    EPOCHS: String(EPOCHS),
    LR: String(LR),
    GRAD_ACCUM: '1',
    TRAIN_BS: '2',
    EVAL_LINES: '100',
    MAX_NEW_TOKENS: String(MAX_NEW_TOKENS),
    SEED: '42',
    PROGRESS_INTERVAL_MS: '1', // every optimizer step edits the progress message
  };
}

export function tmpDataDir(): { dir: string; remove(): void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'quijote-e2e-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * The same story job again, through the bot's compute client (so the compute process, not the test, runs the
 * engine): with the poll's seed it must give back exactly the stored stories.
 */
export async function regenerate(services: Services, prompt: string, seed: number, modelDir: string) {
  return services.compute.submit({
    kind: 'story', params: { prompt, seed, modelDir }, place: { platform: 'discord', teamId: 'test', channelId: 'test' }, owner: { id: 'test' },
  }).result;
}

/** One model view through the bot's compute client (the compute process runs it), for the numbers behind a picture. */
export async function inspectVia<P extends InspectParams>(services: Services, params: P): Promise<InspectResultOf<P['view']>> {
  const job = services.compute.submit({ kind: 'inspect', params, place: { platform: 'discord', teamId: 'test', channelId: 'test' }, owner: { id: 'test' } });
  return (await job.result) as InspectResultOf<P['view']>;
}

export interface StartedBot {
  bot: RunningBot;
  /** Everything the bot wrote to its console. */
  logs: string[];
}

/** startBot with the given env and platform starters; fails the test (with the console output) unless it starts. */
export async function startE2EBot(env: Record<string, string>): Promise<StartedBot> {
  const logs: string[] = [];
  const res = await startBot({ env, write: (l) => logs.push(l) });
  assert.equal(res.code, 0, `the bot did not start:\n${logs.join('\n')}`);
  return { bot: res.bot!, logs };
}

/** The class's only finished run, as the store has it. */
export async function doneRun(services: Services, place: { platform: 'discord' | 'slack'; teamId: string; channelId: string }): Promise<RunRow> {
  const cls = await services.store.findClass(place);
  assert.ok(cls, 'the class exists in the store');
  const run = await services.store.latestDoneRun(cls.id);
  assert.ok(run?.metrics, 'a finished run with metrics');
  return run;
}

/** The lines of the "results" announcement that carry numbers, rebuilt from the run the store recorded. */
export function metricLines(run: RunRow): { loss: string; ppl: string } {
  const m = run.metrics!;
  const f3 = (n: number) => formatNumber('es', n, 3);
  const f2 = (n: number) => formatNumber('es', n, 2);
  return {
    loss: `Pérdida de evaluación: ${f3(m.evalLossBefore)} → ${f3(m.evalLossAfter)}`,
    ppl: `Perplejidad: ${f2(m.perplexityBefore)} → ${f2(m.perplexityAfter)}`,
  };
}

export interface RevealFacts {
  poll: PollRow;
  finetunedChoice: 'A' | 'B';
  tally: { A: number; B: number; total: number };
  /** "El N % detectó la historia afinada (n de total)." */
  share: string;
  /** The corpus-trace sentence /reveal must contain: the copied sequences, or the "none found" line. */
  tracesLine: string;
  ngrams: string[];
  /** The fine-tuned story with its traces in bold, and the share of its words inside them. */
  highlighted: string;
  coverage: string;
  /** The memorization meter's lines for the fine-tuned story. */
  meter: string;
}

/** What /reveal must say about a poll, computed independently from the stored stories and the training lines. */
export async function revealFacts(services: Services, pollId: number): Promise<RevealFacts> {
  const poll = await services.store.getPoll(pollId);
  assert.ok(poll, `poll ${pollId} is stored`);
  const tally = await services.store.tally(pollId);
  const { a, b } = await pollStories(services, poll);
  const tuned = poll.finetunedChoice === 'A' ? a : b;
  assert.equal(tuned.model, 'finetuned');
  assert.equal((poll.finetunedChoice === 'A' ? b : a).model, 'base');
  const run = await services.store.getRun(poll.runId);
  const lines = await services.text.trainingLines(run!.params.lines);
  const traces = findCorpusTraces(escapeMarkdown(tuned.text), lines);
  const ngrams = traces.ngrams.slice(0, 12).map((g) => `«${clip(g, 80)}»`);
  return {
    poll,
    finetunedChoice: poll.finetunedChoice,
    tally: { A: tally.A, B: tally.B, total: tally.total },
    share: `El ${formatPercent('es', tally[poll.finetunedChoice] / tally.total)} detectó la historia afinada (${tally[poll.finetunedChoice]} de ${tally.total}).`,
    tracesLine:
      ngrams.length > 0
        ? `Secuencias copiadas de las líneas de entrenamiento: ${ngrams.join(', ')}`
        : 'No aparece ninguna secuencia de 3 o más palabras copiada de las líneas de entrenamiento.',
    ngrams,
    highlighted: clip(traces.highlighted.trim(), 1000),
    coverage: formatPercent('es', traces.coverage),
    meter: meterText(services, measure(tuned.text, lines)),
  };
}

/** PNG signature + IHDR width/height of an uploaded image. */
export function pngSize(data: Buffer): { width: number; height: number } {
  assert.deepEqual([...data.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature');
  assert.equal(data.subarray(12, 16).toString('ascii'), 'IHDR');
  return { width: data.readUInt32BE(16), height: data.readUInt32BE(20) };
}

/** The warnings a poll shows under its two stories (short: the notebook's fix; repetitive: the knobs' fix). */
export function pollWarnings(a: { text: string }, b: { text: string }): string[] {
  const out: string[] = [];
  let short = false;
  for (const [c, st] of [['A', a], ['B', b]] as const) {
    const cut = cutStory(st.text);
    if (!cut.complete) {
      out.push(`⚠️ La Historia ${c} solo tiene ${cut.sentences} de 5 oraciones: el modelo paró antes (el profesorado puede subir MAX_NEW_TOKENS a ~220 o bajar TEMPERATURE a 0,8).`);
      short = true;
    }
    if (isRepetitive(st.text)) out.push(`⚠️ La Historia ${c} se repite mucho: prueba \`/story\` con \`penalizacion:1.2\` (hasta 1,3) o \`top_p:0.97\`.`);
  }
  if (short) out.push('En `/story` también puedes bajar la temperatura: `temperatura:0.8`.');
  return out;
}

/** The results card's settings line of a run trained with e2eEnv. */
export function settingsLine(run: RunRow): string {
  const p = run.params;
  return `Ajustes exactos de #${run.id}: lines ${p.lines} · epochs ${p.epochs} · lr ${formatNumber('es', p.lr, 8)} · seed ${p.seed} · ${run.metrics!.method} · TRAIN_BS 2 × GRAD_ACCUM 1 · BLOCK_SIZE 128. Para repetirlo: \`/train repetir:#${run.id}\`.`;
}
