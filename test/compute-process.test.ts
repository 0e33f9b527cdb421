/**
 * The supervised compute process: whatever kills it, the bot's process (this one) stays up, the job it was
 * running fails with a coded error that says what to do, a new compute process starts, and the jobs that were
 * waiting run there. Uses a protocol-speaking fake child so each way of dying is exact and fast.
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { createProcessCompute, crashError } from '../bot/compute/process-transport.ts';
import { isQuijoteError, type ErrorCode } from '../core/errors.ts';
import { RecordingLogger } from './helpers/fake-context.ts';

const FAKE = fileURLToPath(new URL('./helpers/fake-compute-main.ts', import.meta.url));
const place = { platform: 'discord', teamId: 'G', channelId: 'C' } as const;

function compute() {
  const logger = new RecordingLogger();
  let stderr = '';
  const c = createProcessCompute({
    env: { PATH: process.env.PATH }, logger, clock: { now: () => Date.now() }, entry: FAKE,
    execArgv: ['--max-old-space-size=48'], stderr: (s) => void (stderr += s),
  });
  const score = (text: string) => c.submit({ kind: 'score', params: { text, modelDir: null }, place, owner: { id: 'u' } });
  return { c, logger, score, stderr: () => stderr };
}

async function waitFor<T>(what: string, f: () => T | undefined, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const cases: Array<{ how: string; code: ErrorCode; hint: RegExp }> = [
  { how: 'sigkill', code: 'COMPUTE_CRASHED', hint: /Try again/ },
  { how: 'abort', code: 'COMPUTE_CRASHED', hint: /fewer lines/ },
  { how: 'v8-oom', code: 'OUT_OF_MEMORY', hint: /fewer lines/ },
  { how: 'exit-oom', code: 'OUT_OF_MEMORY', hint: /Fewer lines/ },
];

for (const { how, code, hint } of cases) {
  test(`compute dies (${how}): its job fails with ${code}, a new process starts, the waiting job runs there`, async () => {
    const { c, score, logger, stderr } = compute();
    try {
      const pid = await waitFor('the first child', () => c.transport.pid());
      assert.equal((await score('ok').result).base.perplexity, Math.E);
      const doomed = score(how);
      const waiting = score('ok');
      await assert.rejects(doomed.result, (e) => isQuijoteError(e, code) && hint.test(e.hint ?? e.message), `${how}: ${stderr().slice(-300)}`);
      assert.equal(doomed.info.status, 'failed');
      assert.equal((await waiting.result).tuned, null, 'the job that was waiting ran on the new process');
      assert.notEqual(c.transport.pid(), pid);
      assert.equal(c.transport.restarts(), 1);
      assert.ok(logger.lines.some((l) => /compute: the process died/.test(l)), logger.lines.join('\n'));
      await waitFor('the new engine to report', () => /fake · pid \d+/.test(c.describe()) && c.describe() !== `fake · pid ${pid}`);
    } finally {
      await c.close();
    }
  });
}

test('close() stops the child; nothing restarts it', async () => {
  const { c } = compute();
  const pid = await waitFor('the child', () => c.transport.pid());
  await c.close();
  assert.equal(c.transport.pid(), undefined);
  assert.throws(() => process.kill(pid, 0), /ESRCH/);
});

test('what a dead child leaves the class: out of memory when its last words say so, a crash otherwise', () => {
  assert.equal(crashError(null, 'SIGABRT', 'FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory').code, 'OUT_OF_MEMORY');
  assert.equal(crashError(75, null, '').code, 'OUT_OF_MEMORY');
  assert.equal(crashError(76, null, '').code, 'GPU_ERROR');
  assert.equal(crashError(null, 'SIGSEGV', 'Segmentation fault in libdawn').code, 'COMPUTE_CRASHED');
  assert.match(crashError(1, null, '').message, /exit code 1/);
});
