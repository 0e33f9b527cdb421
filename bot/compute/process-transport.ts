/**
 * The compute child process, supervised. All tensor work (model loading, training, evaluation, generation,
 * scoring) runs in bot/compute/main.ts, forked from here; the bot's event loop never waits for a kernel.
 *
 * The child can die of anything (a wasm or V8 out-of-memory, a native crash in Dawn, a lost GPU, SIGKILL): the
 * transport tells the client (its running jobs fail with the notebook's advice), starts a new child — at once the
 * first time, then with a growing delay while it keeps dying young — and the client sends the waiting jobs again.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ComputeTransport } from '../../core/jobs/client.ts';
import { createComputeClient } from '../../core/jobs/client.ts';
import { parseComputeEvent, type ComputeCommand, type ComputeEvent, type WireError } from '../../core/jobs/protocol.ts';
import type { ComputeClient } from '../../core/jobs/types.ts';
import type { Clock } from '../../core/store/types.ts';
import type { Logger } from '../../commands/types.ts';
import { EXIT_GPU_ERROR, EXIT_OUT_OF_MEMORY } from './exit-codes.ts';

export const COMPUTE_ENTRY = fileURLToPath(new URL('./main.ts', import.meta.url));
const TSX_LOADER = import.meta.resolve('tsx');

/** A child that lived less than this counts as dying young (its restart waits longer each time). */
const YOUNG_MS = 10_000;
const MAX_BACKOFF_MS = 30_000;
const STDERR_TAIL = 16_384;
const OOM_PATTERN = /heap out of memory|Reached heap limit|out of memory|OUT_OF_MEMORY|Cannot allocate memory|Maximum memory size exceeded|memory access out of bounds/i;

export interface ProcessTransportOptions {
  /** The child's whole environment (the bot's own env: config is read again there). */
  env: Readonly<Record<string, string | undefined>>;
  logger: Logger;
  clock: Clock;
  /** Another entry point speaking the protocol (tests use crashing fakes). */
  entry?: string;
  /** Extra node flags for the child, e.g. --max-old-space-size. */
  execArgv?: string[];
  /** Copies of the child's stderr go here (default: this process's stderr). */
  stderr?: (chunk: string) => void;
}

export interface ProcessTransport extends ComputeTransport {
  /** The running child's pid (undefined while it is down). */
  pid(): number | undefined;
  /** How many times the child was restarted. */
  restarts(): number;
}

/** What a dead child leaves the class: out of memory when its last words say so, a crash otherwise. */
export function crashError(code: number | null, signal: NodeJS.Signals | null, stderrTail: string): WireError {
  const how = signal ? `signal ${signal}` : `exit code ${code}`;
  if (code === EXIT_GPU_ERROR) {
    return {
      code: 'GPU_ERROR',
      message: `The GPU rejected an operation; the compute process was restarted (${how}).`,
      hint: 'Try WEBGPU_MATMUL=tfjs or QUIJOTE_BACKEND=wasm in .env.',
    };
  }
  if (code === EXIT_OUT_OF_MEMORY || OOM_PATTERN.test(stderrTail)) {
    return {
      code: 'OUT_OF_MEMORY',
      message: `The compute process ran out of memory (${how}) and was restarted.`,
      hint: 'Train with fewer lines, a smaller TRAIN_BS or BLOCK_SIZE, or a smaller model.',
    };
  }
  return {
    code: 'COMPUTE_CRASHED',
    message: `The compute process stopped (${how}) and was restarted.`,
    hint: 'Try again; if it happens again, train with fewer lines or a smaller TRAIN_BS (the detail is in the bot log).',
  };
}

export function createProcessTransport(o: ProcessTransportOptions): ProcessTransport {
  const events: Array<(e: ComputeEvent) => void> = [];
  const downs: Array<(e: WireError) => void> = [];
  const ups: Array<() => void> = [];
  const writeStderr = o.stderr ?? ((chunk: string) => process.stderr.write(chunk));
  let child: ChildProcess | undefined;
  let closing = false;
  let restartCount = 0;
  let failures = 0;
  let timer: NodeJS.Timeout | undefined;

  function spawn(): void {
    let tail = '';
    const startedAt = o.clock.now();
    const c = fork(o.entry ?? COMPUTE_ENTRY, [], {
      env: { ...o.env } as NodeJS.ProcessEnv,
      execArgv: ['--import', TSX_LOADER, ...(o.execArgv ?? [])],
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
      serialization: 'json',
    });
    child = c;
    c.stderr?.setEncoding('utf8');
    c.stderr?.on('data', (chunk: string) => {
      tail = (tail + chunk).slice(-STDERR_TAIL);
      writeStderr(chunk);
    });
    c.on('message', (raw) => {
      let event: ComputeEvent;
      try {
        event = parseComputeEvent(raw);
      } catch (e) {
        o.logger.error('compute: dropped a malformed message', e);
        return;
      }
      if (event.type === 'log') o.logger[event.level](`compute: ${event.line}`);
      for (const l of events) l(event);
    });
    c.on('error', (e) => o.logger.error('compute: process error', e));
    c.on('exit', (code, signal) => {
      if (child === c) child = undefined;
      if (closing) return;
      const error = crashError(code, signal, tail);
      o.logger.error(`compute: the process died (${signal ? `signal ${signal}` : `exit code ${code}`}); restarting it. ${error.code}`);
      for (const l of downs) l(error);
      failures = o.clock.now() - startedAt < YOUNG_MS ? failures + 1 : 0;
      const delay = failures <= 1 ? 0 : Math.min(MAX_BACKOFF_MS, 1000 * 2 ** (failures - 2));
      timer = setTimeout(() => {
        timer = undefined;
        if (closing) return;
        restartCount++;
        spawn();
        for (const l of ups) l();
      }, delay);
    });
  }

  spawn();

  return {
    send(command: ComputeCommand) {
      // While the child is down nothing is lost: the client sends every waiting job again on onUp.
      if (child?.connected) child.send(command);
    },
    onEvent: (l) => void events.push(l),
    onDown: (l) => void downs.push(l),
    onUp: (l) => void ups.push(l),
    pid: () => child?.pid,
    restarts: () => restartCount,
    async close() {
      closing = true;
      if (timer) clearTimeout(timer);
      const c = child;
      if (!c || c.exitCode !== null || c.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
      if (c.connected) c.send({ type: 'shutdown' } satisfies ComputeCommand);
      const kill = setTimeout(() => c.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(kill);
    },
  };
}

export type ProcessCompute = ComputeClient & { readonly transport: ProcessTransport };

/** The bot's ComputeClient with compute in a supervised child process. */
export function createProcessCompute(o: ProcessTransportOptions & { describe?: string }): ProcessCompute {
  const transport = createProcessTransport(o);
  const client = createComputeClient({ transport, clock: o.clock, describe: o.describe });
  return Object.assign(client, { transport });
}
