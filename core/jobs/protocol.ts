/**
 * The one seam between the bot and compute: jobs as data. A job is a serializable request (kind, parameters,
 * class, owner, request id); progress, results and coded errors come back as messages. Nothing here is a
 * closure or a handle, so the same messages travel over a child process's IPC channel today and could travel
 * over a Redis queue to a remote worker tomorrow. Everything is JSON: `parseComputeEvent` / `parseComputeCommand`
 * check what arrives before anyone trusts it.
 */
import type { SamplingOverrides, ScoreResult, StoryResult, TrainParams, TrainProgress, TrainResult } from '../engine.ts';
import type { HubProgress } from '../model/hub.ts';
import { QuijoteError, type ErrorCode } from '../errors.ts';
import type { Place } from '../place.ts';
import { isInspectParams, type InspectParams, type InspectResult } from '../inspect/requests.ts';

export type JobKind = 'train' | 'story' | 'score' | 'inspect';
export type JobStatus = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';

/** What each kind of job takes. Paths are the compute side's (a remote worker resolves them in its model store). */
export interface JobParamsByKind {
  /**
   * Fine-tune the base model on the first `lines` lines and save the class model into `outDir`; with `text`, on
   * the teacher's text mixed in (its checked lines travel with the job, as data).
   */
  train: Required<Pick<TrainParams, 'lines' | 'epochs' | 'lr'>> & Pick<TrainParams, 'text'> & { seed?: number; outDir: string };
  /** The same prompt and seed through the base model and the class model (one blind poll). */
  story: { prompt: string; seed: number; modelDir: string; sampling?: SamplingOverrides };
  /** Mean next-token loss of `text` under the base model and, when `modelDir` is set, the class model. */
  score: { text: string; modelDir: string | null };
  /** One model-inspection view comparing the base model with the class model (core/inspect/requests.ts). */
  inspect: InspectParams;
}

export interface JobResultByKind {
  train: TrainResult;
  story: { base: StoryResult; tuned: StoryResult };
  score: { base: ScoreResult; tuned: ScoreResult | null };
  inspect: InspectResult;
}

export interface JobOwner {
  id: string;
  /** How to name the owner in /status; falls back to the id. */
  name?: string;
}

/** A job as the bot submits it. `id` is the request id, unique across front-ends (a UUID). */
export interface JobRequest<K extends JobKind = JobKind> {
  id: string;
  kind: K;
  params: JobParamsByKind[K];
  place: Place;
  owner: JobOwner;
  /** Short free text for /status, e.g. "500 líneas". */
  label?: string;
  createdAt: number;
}

/** A job's public state, as /status and /cancel see it. */
export interface JobInfo {
  readonly id: string;
  readonly kind: JobKind;
  readonly ownerId: string;
  readonly ownerName?: string;
  readonly place: Place;
  readonly label?: string;
  status: JobStatus;
  readonly createdAt: number;
  startedAt?: number;
  finishedAt?: number;
}

/** An error as it crosses the boundary: the QuijoteError's code, message and hint survive. */
export interface WireError {
  code: ErrorCode;
  message: string;
  hint?: string;
}

/** Bot → compute. */
export type ComputeCommand =
  | { type: 'submit'; request: JobRequest }
  | { type: 'cancel'; jobId: string }
  | { type: 'shutdown' };

/** Compute → bot. */
export type ComputeEvent =
  /** The engine is up (or failed to start: `error`); `engine` describes backend and base model. */
  | { type: 'ready'; engine: string; error?: WireError }
  | { type: 'started'; jobId: string; at: number }
  | { type: 'progress'; jobId: string; progress: TrainProgress }
  /** A training's class model is saved (its evaluation still runs): the class can start voting. */
  | { type: 'saved'; jobId: string; modelDir: string; evalLossBefore: number }
  | { type: 'result'; jobId: string; at: number; result: JobResultByKind[JobKind] }
  | { type: 'failed'; jobId: string; at: number; error: WireError }
  | { type: 'cancelled'; jobId: string; at: number }
  | { type: 'log'; level: 'info' | 'warn' | 'error'; line: string }
  /** The base model is being downloaded from the Hub before `ready` (first start). */
  | { type: 'download'; progress: HubProgress };

export const JOB_KINDS: readonly JobKind[] = ['train', 'story', 'score', 'inspect'];

export function infoOf(request: JobRequest): JobInfo {
  return {
    id: request.id,
    kind: request.kind,
    ownerId: request.owner.id,
    ownerName: request.owner.name,
    place: { ...request.place },
    label: request.label,
    status: 'queued',
    createdAt: request.createdAt,
  };
}

// ── errors across the boundary ──

export function errorToWire(e: unknown): WireError {
  if (e instanceof QuijoteError) {
    const hint = e.hint;
    const message = hint && e.message.endsWith(` ${hint}`) ? e.message.slice(0, -hint.length - 1) : e.message;
    return hint ? { code: e.code, message, hint } : { code: e.code, message };
  }
  return { code: 'INTERNAL', message: e instanceof Error ? e.message : String(e) };
}

/** The same QuijoteError (code, message, hint) on the other side. */
export function errorFromWire(w: WireError): QuijoteError {
  return new QuijoteError(w.code, w.message, w.hint ? { hint: w.hint } : undefined);
}

// ── validation of what arrives ──

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const isString = (x: unknown): x is string => typeof x === 'string';
const isNumber = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);

function bad(what: string): never {
  throw new QuijoteError('INTERNAL', `Malformed compute message: ${what}.`, { hint: 'Both processes must run the same version of quijote-bot.' });
}

function checkPlace(x: unknown): void {
  if (!isObject(x) || !isString(x.platform) || !isString(x.teamId) || !isString(x.channelId)) bad('place');
}

const SAMPLING_KEYS = ['temperature', 'topK', 'topP', 'repetitionPenalty'];

function checkSampling(x: unknown): void {
  if (!isObject(x)) bad('story sampling');
  for (const [k, v] of Object.entries(x)) {
    if (!SAMPLING_KEYS.includes(k) || (v !== undefined && !isNumber(v))) bad(`story sampling ${k}`);
  }
}

function checkTrainingText(x: unknown): void {
  if (!isObject(x) || !isString(x.hash) || !isString(x.name) || !isNumber(x.mix) || !Array.isArray(x.lines) || !x.lines.every(isString)) bad('train text');
}

function checkParams(kind: JobKind, p: unknown): void {
  if (!isObject(p)) bad('params');
  switch (kind) {
    case 'train':
      if (!isNumber(p.lines) || !isNumber(p.epochs) || !isNumber(p.lr) || !isString(p.outDir)) bad('train params');
      if (p.seed !== undefined && !isNumber(p.seed)) bad('train seed');
      if (p.text !== undefined) checkTrainingText(p.text);
      return;
    case 'story':
      if (!isString(p.prompt) || !isNumber(p.seed) || !isString(p.modelDir)) bad('story params');
      if (p.sampling !== undefined) checkSampling(p.sampling);
      return;
    case 'score':
      if (!isString(p.text) || !(p.modelDir === null || isString(p.modelDir))) bad('score params');
      return;
    case 'inspect':
      if (!isInspectParams(p)) bad('inspect params');
      return;
  }
}

function checkRequest(r: unknown): asserts r is JobRequest {
  if (!isObject(r) || !isString(r.id) || r.id === '' || !JOB_KINDS.includes(r.kind as JobKind)) bad('request');
  checkParams(r.kind as JobKind, r.params);
  checkPlace(r.place);
  if (!isObject(r.owner) || !isString(r.owner.id)) bad('owner');
  if (!isNumber(r.createdAt)) bad('createdAt');
}

function checkWireError(e: unknown): void {
  if (!isObject(e) || !isString(e.code) || !isString(e.message)) bad('error');
}

/** A command from the bot, checked (throws QuijoteError INTERNAL when malformed). */
export function parseComputeCommand(x: unknown): ComputeCommand {
  if (!isObject(x)) bad('not an object');
  switch (x.type) {
    case 'submit':
      checkRequest(x.request);
      return x as ComputeCommand;
    case 'cancel':
      if (!isString(x.jobId)) bad('cancel');
      return x as ComputeCommand;
    case 'shutdown':
      return x as ComputeCommand;
    default:
      return bad(`unknown command ${String(x.type)}`);
  }
}

/** An event from compute, checked (throws QuijoteError INTERNAL when malformed). */
export function parseComputeEvent(x: unknown): ComputeEvent {
  if (!isObject(x)) bad('not an object');
  const job = () => { if (!isString(x.jobId)) bad(`${String(x.type)} without jobId`); };
  switch (x.type) {
    case 'ready':
      if (!isString(x.engine)) bad('ready');
      if (x.error !== undefined) checkWireError(x.error);
      break;
    case 'started':
      job();
      if (!isNumber(x.at)) bad('started at');
      break;
    case 'progress':
      job();
      if (!isObject(x.progress) || !isNumber(x.progress.step) || !isNumber(x.progress.totalSteps)) bad('progress');
      break;
    case 'saved':
      job();
      if (!isString(x.modelDir) || !isNumber(x.evalLossBefore)) bad('saved');
      break;
    case 'result':
      job();
      if (!isObject(x.result)) bad('result');
      break;
    case 'failed':
      job();
      checkWireError(x.error);
      break;
    case 'cancelled':
      job();
      break;
    case 'log':
      if (!isString(x.line) || !['info', 'warn', 'error'].includes(x.level as string)) bad('log');
      break;
    case 'download': {
      const p = x.progress;
      if (!isObject(p) || !isString(p.file) || !isNumber(p.bytes) || !(p.total === null || isNumber(p.total)) || !isNumber(p.bytesPerSecond)) bad('download');
      break;
    }
    default:
      bad(`unknown event ${String(x.type)}`);
  }
  return x as ComputeEvent;
}
