/**
 * A compute process for supervision tests: speaks core/jobs/protocol.ts like bot/compute/main.ts, without any
 * model. Score jobs run one at a time; their text chooses the outcome: "ok" answers, "sigkill" / "abort" /
 * "v8-oom" / "exit-oom" make this process die the way a real one can (SIGKILL, a native crash, V8 running out
 * of heap, the compute process restarting itself after a wasm out-of-memory).
 */
import { parseComputeCommand, type ComputeEvent, type JobRequest } from '../../core/jobs/protocol.ts';

const send = (e: ComputeEvent) => process.send?.(e);
const queue: JobRequest[] = [];
let busy = false;
const hoard: unknown[] = [];

function crash(how: string): void {
  switch (how) {
    case 'sigkill':
      process.kill(process.pid, 'SIGKILL');
      return;
    case 'abort':
      process.abort();
      return;
    case 'v8-oom':
      for (;;) hoard.push(new Array(1e5).fill({ x: hoard.length }));
    case 'exit-oom':
      setTimeout(() => process.exit(75), 20);
      return;
  }
}

function next(): void {
  if (busy) return;
  const job = queue.shift();
  if (!job) return;
  busy = true;
  send({ type: 'started', jobId: job.id, at: Date.now() });
  const text = job.kind === 'score' ? (job.params as { text: string }).text : '';
  setTimeout(() => {
    if (text !== 'ok') {
      if (text === 'exit-oom') send({ type: 'failed', jobId: job.id, at: Date.now(), error: { code: 'OUT_OF_MEMORY', message: 'wasm heap full', hint: 'Fewer lines.' } });
      crash(text);
      return;
    }
    send({ type: 'result', jobId: job.id, at: Date.now(), result: { base: { tokens: 2, loss: 1, perplexity: Math.E }, tuned: null } });
    busy = false;
    next();
  }, 50);
}

process.on('message', (raw) => {
  const c = parseComputeCommand(raw);
  if (c.type === 'shutdown') process.exit(0);
  if (c.type === 'submit') {
    queue.push(c.request);
    next();
  }
});
process.on('disconnect', () => process.exit(0));
send({ type: 'ready', engine: `fake · pid ${process.pid}` });
