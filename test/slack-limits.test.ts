/**
 * Slack's WebClient retries a failing call for about 30 minutes by default; the bot bounds it. A message edit that
 * keeps failing (HTTP 503, or 429 with a long Retry-After) gives up within seconds, and the training's final
 * progress edit never holds the job lane longer than its bound.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { webApi } from '@slack/bolt';
import { createProgressReporter } from '../commands/progress.ts';
import { CALL_RETRIES, EDIT_CLIENT } from '../bot/slack/index.ts';
import { SlackIO } from '../bot/slack/io.ts';
import { texts } from '../bot/slack/texts.ts';
import { FakeSlack } from './helpers/fake-slack.ts';
import { ManualClock, RecordingLogger } from './helpers/fake-context.ts';

test('a Slack message edit that keeps failing gives up within seconds (503 and 429 with Retry-After: 120)', async () => {
  const fake = await FakeSlack.start();
  try {
    const token = 'xoxb-test';
    const client = new webApi.WebClient(token, { slackApiUrl: fake.apiUrl, retryConfig: CALL_RETRIES });
    const edits = new webApi.WebClient(token, { slackApiUrl: fake.apiUrl, ...EDIT_CLIENT });
    const io = new SlackIO(client, texts('es'), () => {}, edits);
    const handle = await io.post('C0CLASE', { text: '⏳ Entrenamiento #1: esperando turno…' });
    for (const fail of [{ status: 503 }, { status: 429, retryAfter: 120 }]) {
      fake.failing.set('chat.update', fail);
      const t0 = Date.now();
      await assert.rejects(handle.edit({ text: '🏋️ paso 1' }));
      const ms = Date.now() - t0;
      assert.ok(ms < 5000, `gave up after ${ms} ms (status ${fail.status})`);
      console.log(`slack edit bound: status ${fail.status} gave up after ${ms} ms, ${fake.calls('chat.update').length} calls so far`);
    }
    fake.failing.delete('chat.update');
    await handle.edit({ text: '✅ listo' });
    assert.equal([...fake.messages.values()].find((m) => m.ts === handle.id)!.text, '✅ listo');
  } finally {
    await fake.close();
  }
});

test('the final progress edit waits at most its bound, then the job carries on', async () => {
  const logger = new RecordingLogger();
  const never = { id: 'm1', edit: () => new Promise<void>(() => {}) };
  const reporter = createProgressReporter({ handle: never, clock: new ManualClock(), intervalMs: 0, render: () => ({ text: 'x' }), logger, finishTimeoutMs: 200 });
  reporter.update({ step: 1, totalSteps: 2, epoch: 1, loss: 1, learningRate: 1e-4, tokensPerSecond: 1, etaSeconds: 1 });
  const t0 = Date.now();
  await reporter.finish({ text: 'done' });
  const ms = Date.now() - t0;
  assert.ok(ms >= 190 && ms < 1500, `finish took ${ms} ms`);
  assert.ok(logger.lines.some((l) => l.includes('still not edited after 200 ms')));
});

test('a failed poll edit with nothing newer behind it is retried, so the message ends with the latest count', async () => {
  const { PollMessages } = await import('../commands/poll-messages.ts');
  const pm = new PollMessages([20, 20]);
  let calls = 0;
  const shown: number[] = [];
  let count = 0;
  const edit = async () => {
    calls++;
    if (calls <= 2) throw new Error('ratelimited');
    shown.push(count);
  };
  count = 5;
  await pm.request(1, edit);
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(shown, [5]);
  assert.equal(pm.stats.retried, 2);
  // Coalescing: 50 requests while one edit is in flight give one follow-up edit.
  let inFlight = 0;
  let maxInFlight = 0;
  let edits = 0;
  const slow = async () => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    await new Promise((r) => setTimeout(r, 30));
    edits++;
    inFlight--;
  };
  await Promise.all(Array.from({ length: 50 }, () => pm.request(2, slow)));
  assert.equal(maxInFlight, 1);
  assert.equal(edits, 2);
});
