/**
 * The job seam: every message survives JSON and is checked on arrival; errors keep code, message and hint; the
 * bot-side client turns messages into job state (started, progress, result, coded error, cancel) and survives
 * compute going down (running jobs fail with the reason, waiting ones are sent again).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { QuijoteError, isQuijoteError } from '../core/errors.ts';
import { createComputeClient, type ComputeTransport } from '../core/jobs/client.ts';
import {
  errorFromWire, errorToWire, parseComputeCommand, parseComputeEvent, type ComputeCommand, type ComputeEvent, type JobRequest, type WireError,
} from '../core/jobs/protocol.ts';
import { ManualClock, settle } from './helpers/fake-context.ts';

const place = { platform: 'slack', teamId: 'T1', channelId: 'C1' } as const;
const wire = <T>(x: T): unknown => JSON.parse(JSON.stringify(x));

const trainRequest: JobRequest<'train'> = {
  id: 'r-1', kind: 'train', params: { lines: 100, epochs: 2, lr: 1e-4, seed: 42, outDir: '/data/classes/x/run-1' },
  place, owner: { id: 'U1', name: 'Profe' }, label: '100 líneas', createdAt: 1000,
};

test('every command and event round-trips through JSON unchanged', () => {
  const commands: ComputeCommand[] = [
    { type: 'submit', request: trainRequest },
    { type: 'submit', request: { id: 'r-2', kind: 'story', params: { prompt: 'Érase', seed: 7, modelDir: '/m' }, place, owner: { id: 'U2' }, createdAt: 5 } },
    { type: 'submit', request: { id: 'r-3', kind: 'score', params: { text: 'hola', modelDir: null }, place, owner: { id: 'U3' }, createdAt: 6 } },
    { type: 'cancel', jobId: 'r-1' },
    { type: 'shutdown' },
  ];
  for (const c of commands) assert.deepEqual(parseComputeCommand(wire(c)), c);
  const progress = { step: 3, totalSteps: 8, epoch: 0.75, loss: 4.2, learningRate: 1e-4, tokensPerSecond: 250, etaSeconds: 30 };
  const events: ComputeEvent[] = [
    { type: 'ready', engine: 'wasm · modelo' },
    { type: 'ready', engine: 'wasm · modelo', error: { code: 'MODEL_NOT_FOUND', message: 'No está.', hint: 'Descárgalo.' } },
    { type: 'started', jobId: 'r-1', at: 2000 },
    { type: 'progress', jobId: 'r-1', progress },
    { type: 'result', jobId: 'r-3', at: 3000, result: { base: { tokens: 3, loss: 2, perplexity: 7.39 }, tuned: null } },
    { type: 'failed', jobId: 'r-1', at: 3000, error: { code: 'OUT_OF_MEMORY', message: 'Sin memoria.', hint: 'Menos líneas.' } },
    { type: 'cancelled', jobId: 'r-2', at: 3100 },
    { type: 'log', level: 'warn', line: 'algo' },
  ];
  for (const e of events) assert.deepEqual(parseComputeEvent(wire(e)), e);
});

test('malformed messages are refused with a coded error, not trusted', () => {
  const bad: unknown[] = [
    null, 'submit', { type: 'launch' },
    { type: 'submit', request: { ...trainRequest, kind: 'dance' } },
    { type: 'submit', request: { ...trainRequest, params: { lines: '100', epochs: 2, lr: 1e-4, outDir: '/x' } } },
    { type: 'submit', request: { ...trainRequest, place: { platform: 'discord' } } },
    { type: 'submit', request: { ...trainRequest, id: '' } },
    { type: 'cancel' },
  ];
  for (const x of bad) assert.throws(() => parseComputeCommand(x), (e) => isQuijoteError(e, 'INTERNAL'), JSON.stringify(x));
  for (const x of [{ type: 'progress', jobId: 'a', progress: { step: 'x' } }, { type: 'failed', jobId: 'a', error: { message: 'no code' } }, { type: 'result' }]) {
    assert.throws(() => parseComputeEvent(x), (e) => isQuijoteError(e, 'INTERNAL'));
  }
});

test('a QuijoteError crosses the boundary with its code, message and hint; other errors become INTERNAL', () => {
  const original = new QuijoteError('OUT_OF_MEMORY', 'La máquina se quedó sin memoria.', { hint: 'Prueba con menos líneas.' });
  const back = errorFromWire(wire(errorToWire(original)) as WireError);
  assert.equal(back.code, 'OUT_OF_MEMORY');
  assert.equal(back.hint, 'Prueba con menos líneas.');
  assert.equal(back.message, original.message);
  assert.deepEqual(errorToWire(new RangeError('boom')), { code: 'INTERNAL', message: 'boom' });
});

/** A transport the test drives by hand: it records what the client sends and delivers what the test emits. */
function scriptedTransport() {
  const sent: ComputeCommand[] = [];
  const on = { event: [] as Array<(e: ComputeEvent) => void>, down: [] as Array<(e: WireError) => void>, up: [] as Array<() => void> };
  const transport: ComputeTransport = {
    send: (c) => void sent.push(parseComputeCommand(wire(c))),
    onEvent: (l) => void on.event.push(l),
    onDown: (l) => void on.down.push(l),
    onUp: (l) => void on.up.push(l),
    close: async () => {},
  };
  return {
    transport,
    sent,
    emit: (e: ComputeEvent) => on.event.forEach((l) => l(parseComputeEvent(wire(e)))),
    down: (e: WireError) => on.down.forEach((l) => l(e)),
    up: () => on.up.forEach((l) => l()),
  };
}

function client() {
  const t = scriptedTransport();
  let n = 0;
  const clock = new ManualClock(1000);
  const c = createComputeClient({ transport: t.transport, clock, newId: () => `j${++n}`, describe: '(arrancando) auto · m' });
  return { ...t, c, clock };
}

test('client: submit sends the request as data; started, progress and result come back as job state', async () => {
  const { c, sent, emit } = client();
  const job = c.submit({ kind: 'train', params: trainRequest.params, place, owner: { id: 'U1', name: 'Profe' }, label: '100 líneas' });
  assert.deepEqual(sent, [{ type: 'submit', request: { ...trainRequest, id: 'j1' } }]);
  assert.equal(await c.position('j1'), 1);
  const started: number[] = [];
  const steps: number[] = [];
  job.onStarted((at) => started.push(at));
  job.onProgress((p) => steps.push(p.step));
  emit({ type: 'ready', engine: 'wasm · m' });
  assert.equal(c.describe(), 'wasm · m');
  emit({ type: 'started', jobId: 'j1', at: 1500 });
  assert.equal(job.info.status, 'running');
  assert.equal(await c.position('j1'), 0);
  for (const step of [1, 2]) emit({ type: 'progress', jobId: 'j1', progress: { step, totalSteps: 2, epoch: step, loss: 3, learningRate: 1e-4, tokensPerSecond: 9, etaSeconds: 0 } });
  const result = { modelDir: '/m', lines: 100, epochs: 2, lr: 1e-4, method: 'lora' as const, evalLossBefore: 5, evalLossAfter: 4, perplexityBefore: 148, perplexityAfter: 54, lossCurve: [], optimizerSteps: 2, seconds: 9 };
  emit({ type: 'result', jobId: 'j1', at: 2000, result });
  assert.deepEqual(await job.result, result);
  assert.deepEqual(started, [1500]);
  assert.deepEqual(steps, [1, 2]);
  assert.equal(job.info.status, 'done');
  assert.deepEqual(await c.active(), []);
  await c.idle();
});

test('client: a failed job rejects with the QuijoteError compute sent', async () => {
  const { c, emit } = client();
  const job = c.submit({ kind: 'score', params: { text: 'x', modelDir: null }, place, owner: { id: 'U' } });
  emit({ type: 'started', jobId: 'j1', at: 1 });
  emit({ type: 'failed', jobId: 'j1', at: 2, error: { code: 'BAD_ARGUMENT', message: 'Texto corto.', hint: 'Escribe más.' } });
  await assert.rejects(job.result, (e) => isQuijoteError(e, 'BAD_ARGUMENT') && e.hint === 'Escribe más.');
  assert.equal(job.info.status, 'failed');
});

test('client: cancelling a waiting job settles it at once; a running one when compute confirms, even if a result wins the race', async () => {
  const { c, sent, emit } = client();
  const a = c.submit({ kind: 'story', params: { prompt: 'a', seed: 1, modelDir: '/m' }, place, owner: { id: 'U' } });
  const b = c.submit({ kind: 'story', params: { prompt: 'b', seed: 1, modelDir: '/m' }, place, owner: { id: 'U' } });
  emit({ type: 'started', jobId: 'j1', at: 1 });
  assert.equal(await c.position('j2'), 1);
  assert.equal(await c.cancel('j2'), true);
  await assert.rejects(b.result, (e) => isQuijoteError(e, 'CANCELLED'));
  assert.equal(await c.cancel('j2'), false, 'already finished');
  assert.equal(await c.cancel('j1'), true);
  assert.deepEqual(sent.filter((s) => s.type === 'cancel'), [{ type: 'cancel', jobId: 'j2' }, { type: 'cancel', jobId: 'j1' }]);
  assert.deepEqual((await c.active()).map((j) => j.id), [], 'a job being cancelled is no longer offered to /cancel');
  let settled = false;
  a.result.catch(() => (settled = true));
  await settle();
  assert.equal(settled, false, 'a running job settles only when compute answers');
  // The story finished before the cancel arrived: its result is dropped, so no poll is posted.
  emit({ type: 'result', jobId: 'j1', at: 2, result: { base: { prompt: 'a', text: 't', sentences: 5, complete: true, newTokens: 9 }, tuned: { prompt: 'a', text: 't', sentences: 5, complete: true, newTokens: 9 } } });
  await assert.rejects(a.result, (e) => isQuijoteError(e, 'CANCELLED'));
  assert.equal(a.info.status, 'cancelled');
});

test('client: when compute goes down, running jobs fail with its reason; waiting jobs are sent again once it is back', async () => {
  const { c, sent, emit, down, up } = client();
  const training = c.submit({ kind: 'train', params: trainRequest.params, place, owner: { id: 'U' } });
  const story = c.submit({ kind: 'story', params: { prompt: 'b', seed: 1, modelDir: '/m' }, place, owner: { id: 'V' } });
  emit({ type: 'started', jobId: 'j1', at: 1 });
  down({ code: 'COMPUTE_CRASHED', message: 'The compute process stopped (signal SIGKILL).', hint: 'Try again.' });
  await assert.rejects(training.result, (e) => isQuijoteError(e, 'COMPUTE_CRASHED') && e.hint === 'Try again.');
  assert.equal(story.info.status, 'queued');
  sent.length = 0;
  up();
  assert.deepEqual(sent.map((s) => s.type === 'submit' && s.request.id), ['j2'], 'only the waiting job is sent again');
  emit({ type: 'started', jobId: 'j2', at: 5 });
  emit({ type: 'result', jobId: 'j2', at: 6, result: { base: { prompt: 'b', text: 'x', sentences: 1, complete: false, newTokens: 2 }, tuned: { prompt: 'b', text: 'y', sentences: 1, complete: false, newTokens: 2 } } });
  assert.equal((await story.result).tuned.text, 'y');
});
