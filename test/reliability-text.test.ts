/**
 * Hostile and odd text, and the platforms' size limits: invisible and bidi characters never reach a poll, Markdown
 * and masked links stay literal on Discord and Slack, mentions stay inert, long prompts and emoji fit Discord's
 * 2000 characters and Slack's 3000-character sections without losing the tally or the buttons or splitting a
 * character, a failed post leaves no open poll, and the prompt is capped by tokens in the real engine.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { renderPoll, MAX_POLL_CHARS } from '../commands/poll.ts';
import { clip, joinStory } from '../commands/respond.ts';
import { reveal } from '../commands/reveal.ts';
import { story } from '../commands/story.ts';
import { train } from '../commands/train.ts';
import { clipGraphemes, escapeMarkdown, sanitizeText } from '../commands/text-safety.ts';
import { toPayload, truncate, MAX_CONTENT } from '../bot/discord/payload.ts';
import { toMrkdwn, toSlackMessage } from '../bot/slack/blocks.ts';
import { loadConfig } from '../config/index.ts';
import { isQuijoteError, QuijoteError } from '../core/errors.ts';
import { createEngine, maxPromptTokens } from '../core/pipeline/tfjs-engine.ts';
import type { PollRow, StoryRow } from '../core/store/types.ts';
import { commandContext, createTestRig, settle, STUDENT, TEACHER, type TestRig } from './helpers/fake-context.ts';
import { MODEL_DIR } from './helpers/e2e.ts';

const segmenter = new Intl.Segmenter('es', { granularity: 'grapheme' });
/** True when `cut` (without a trailing ellipsis) is a prefix of `whole` ending on a grapheme boundary. */
function endsOnGrapheme(whole: string, cut: string): boolean {
  const bare = cut.replace(/…$/, '');
  if (!whole.startsWith(bare)) return false;
  return [...segmenter.segment(whole)].some((g) => g.index === bare.length) || bare.length === whole.length;
}

async function trainedRig(env: Record<string, string> = {}): Promise<TestRig> {
  const rig = createTestRig({ engine: { steps: 1 }, env });
  await train.run(commandContext(rig.services, rig.channel, 'train', { lines: 5 }));
  await rig.services.compute.idle();
  await settle();
  return rig;
}

test('sanitizeText strips controls, bidi overrides and zero-width characters; keeps emoji sequences', () => {
  assert.deepEqual(sanitizeText('\u200B'.repeat(300)), { text: '', removed: 300 });
  assert.equal(sanitizeText('\u200B\u2060\uFEFF\u00AD \u200C').text, '');
  assert.equal(sanitizeText('Hola\u202E odnum\u202C').text, 'Hola odnum');
  assert.equal(sanitizeText('a\u2066b\u2069c\u200Fd\u061C').text, 'abcd');
  assert.equal(sanitizeText('un\u0007 timbre\u001B[31m rojo\u0000').text, 'un timbre[31m rojo');
  assert.equal(sanitizeText('tab\tsep\r\nlínea').text, 'tab sep\nlínea');
  assert.equal(sanitizeText('familia 👨‍👩‍👧 y b\u200Dc').text, 'familia 👨‍👩‍👧 y bc'); // ZWJ only inside emoji
  assert.equal(sanitizeText('e\u0301').text, 'é'); // NFC
  assert.equal(sanitizeText('tags\u{E0041}\u{E0042}').text, 'tags');
});

test('escapeMarkdown: masked links, emphasis, mentions syntax and line-start markup stay literal', () => {
  assert.equal(escapeMarkdown('[pulsa aquí](https://malo.example)'), '\\[pulsa aquí\\](https://malo.example)');
  assert.equal(escapeMarkdown('**negrita** _it_ ~~x~~ `c` ||spoiler||'), '\\*\\*negrita\\*\\* \\_it\\_ \\~\\~x\\~\\~ \\`c\\` \\|\\|spoiler\\|\\|');
  assert.equal(escapeMarkdown('<@123> <#456> <https://x.y|z>'), '\\<@123\\> \\<#456\\> \\<https://x.y\\|z\\>');
  assert.equal(escapeMarkdown('# título\n> cita\n- lista\n-# sub'), '\\# título\n\\> cita\n\\- lista\n\\-# sub');
  assert.equal(escapeMarkdown('a \\ b'), 'a \\\\ b');
  // Slack: the escapes come out as inert characters, never as a link or formatting.
  const slack = toMrkdwn(escapeMarkdown('[pulsa aquí](https://malo.example) *x* <!here> **y**'));
  assert.ok(!slack.includes('<https://malo.example|'), slack);
  assert.ok(!/<!here>/.test(slack), slack);
  assert.equal(slack, '[pulsa aquí](https://malo.example) ＊x＊ &lt;!here&gt; ＊＊y＊＊');
  // Our own Markdown still converts.
  assert.equal(toMrkdwn('**Historia A** [doc](https://ok.example)'), '*Historia A* <https://ok.example|doc>');
});

test('grapheme-safe clipping: never inside an emoji, flag or accented letter', () => {
  const family = '👨‍👩‍👧';
  for (const text of [family.repeat(30), '🇪🇸'.repeat(50), 'e\u0301'.repeat(80), `abc${'😀'.repeat(40)}`]) {
    for (const max of [5, 17, 33, 64]) {
      const cut = clipGraphemes(text, max);
      assert.ok(cut.length <= max, `${cut.length} > ${max}`);
      assert.ok(endsOnGrapheme(text, cut), `cut inside a grapheme at ${max}`);
      const c2 = clip(text, max);
      assert.ok(c2.length <= max && endsOnGrapheme(text, c2), `clip(${max})`);
    }
  }
  assert.equal(clip('**negrita larga** y más texto', 12), '**negrita**…'); // bold stays paired
  assert.ok(clip('a'.repeat(20) + '\\*', 22).length <= 22);
  // Discord's safety net keeps the last paragraph (the tally) and cuts the middle.
  const long = `${'😀'.repeat(1500)}\n\nVotos emitidos: 7 (el reparto se verá al revelar).`;
  const fitted = truncate(long);
  assert.ok(fitted.length <= MAX_CONTENT);
  assert.ok(fitted.endsWith('\n\nVotos emitidos: 7 (el reparto se verá al revelar).'));
  assert.ok(endsOnGrapheme(long, fitted.slice(0, fitted.indexOf('…') + 1)));
});

test('the poll fits Discord (2000) and Slack (3000 per section) with a 300-character prompt and long stories; tally and buttons stay', () => {
  const rig = createTestRig();
  const s = rig.services;
  const prompts = ['x'.repeat(300), '😀'.repeat(150), '[pulsa aquí](https://malo.example) '.repeat(8).slice(0, 300), '*_~`|'.repeat(60)];
  for (const prompt of prompts) {
    const storyRow = (id: number, text: string): StoryRow => ({ id, classId: 1, runId: 1, model: 'base', prompt, text, seed: 1, createdAt: 0 });
    const a = storyRow(1, ` ${'Érase una vez un caballero 🐴. '.repeat(60)}`);
    const b = storyRow(2, ` ${'👨‍👩‍👧 '.repeat(400)}`);
    const poll: PollRow = { id: 9, classId: 1, runId: 1, prompt, storyAId: 1, storyBId: 2, finetunedChoice: 'A', channelId: 'c', messageId: 'm', status: 'open', createdBy: 'u', createdAt: 0, closedAt: null };
    const msg = renderPoll(s, poll, a, b, { A: 3, B: 4, total: 7 });
    assert.ok(msg.text.length <= MAX_POLL_CHARS, `poll is ${msg.text.length} chars`);
    assert.ok(msg.text.endsWith('Votos emitidos: 7 (el reparto se verá al revelar).'), msg.text.slice(-120));
    assert.ok(!/(?<!\\)\]\(https:\/\/malo/.test(msg.text), 'masked link escaped');
    assert.equal(msg.buttons?.length, 3);
    const discord = toPayload(msg);
    assert.equal(discord.content, msg.text); // nothing left for the safety net to cut
    assert.equal(discord.components.length, 1);
    assert.deepEqual(discord.allowedMentions, { parse: [], users: [] });
    const slack = toSlackMessage(msg);
    const sections = slack.blocks.filter((bl) => bl.type === 'section') as { text: { text: string } }[];
    assert.ok(sections.every((sec) => sec.text.text.length <= 3000));
    assert.ok(sections.at(-1)!.text.text.endsWith('Votos emitidos: 7 (el reparto se verá al revelar).'));
    assert.equal(slack.blocks.at(-1)!.type, 'actions');
    // Every story character is whole: the visible story is a grapheme prefix of the escaped story.
    const shownB = /\*\*Historia B\*\*\n([\s\S]*?)\n\n/.exec(msg.text)![1]!;
    assert.ok(endsOnGrapheme(escapeMarkdown(joinStory(prompt, b.text)), shownB));
    // Closed: the split is shown, and still fits.
    const closed = renderPoll(s, { ...poll, status: 'closed' }, a, b, { A: 3, B: 4, total: 7 });
    assert.ok(closed.text.length <= MAX_POLL_CHARS && closed.text.endsWith('Votos: Historia A 3 · Historia B 4\n\n🔒 Votación cerrada.'));
    assert.deepEqual(closed.buttons, []);
  }
});

test('/story: zero-width-only prompt is empty; bidi, controls and masked links never reach the public poll; mentions stay inert', async () => {
  const rig = await trainedRig();
  const zw = commandContext(rig.services, rig.channel, 'story', { prompt: '\u200B'.repeat(300) }, STUDENT);
  await story.run(zw);
  assert.match(zw.replies[0]!.first.text, /solo tenía caracteres invisibles/);
  assert.equal(zw.replies[0]!.first.ephemeral, true);

  const hostile = 'Érase\u202E una vez\u200B [pulsa aquí](https://malo.example) @everyone <@&123> **grito**\u0007';
  const ctx = commandContext(rig.services, rig.channel, 'story', { prompt: hostile }, STUDENT);
  await story.run(ctx);
  const stored = (await rig.services.store.getPoll(2))!;
  assert.equal(stored.prompt, 'Érase una vez [pulsa aquí](https://malo.example) @everyone <@&123> **grito**');
  assert.equal(rig.engine.storyCalls.at(-1)!.prompt, stored.prompt, 'the model gets the cleaned prompt');
  const poll = rig.channel.posts.at(-1)!;
  for (const text of [poll.first.text, ctx.replies[0]!.first.text]) {
    assert.ok(!/[\u202E\u200B\u0007]/.test(text));
    assert.ok(!text.includes('[pulsa aquí](https'), text);
    assert.ok(text.includes('\\[pulsa aquí\\](https://malo.example)'));
    assert.ok(text.includes('\\<@&123\\>') && text.includes('\\*\\*grito\\*\\*'));
  }
  // Mentions stay inert: Discord is told to parse none; Slack gets no <!everyone> syntax.
  const payload = toPayload(poll.first);
  assert.deepEqual(payload.allowedMentions, { parse: [], users: [] });
  assert.ok(!toSlackMessage(poll.first).text.includes('<!everyone>'));
  assert.ok(!toSlackMessage(poll.first).text.includes('<@&123>'));
});

test('only a posted poll is open: a failed post removes it and says why; /reveal does not see it', async () => {
  const rig = await trainedRig();
  const ctx = commandContext(rig.services, rig.channel, 'story', { prompt: 'Érase una vez' }, STUDENT);
  ctx.post = async () => {
    throw new QuijoteError('FORBIDDEN', 'No puedo publicar en este canal: al bot le falta el permiso «Enviar mensajes».');
  };
  await story.run(ctx);
  assert.match(ctx.replies.at(-1)!.first.text, /No pude completar `\/story`: No puedo publicar en este canal: al bot le falta el permiso «Enviar mensajes»/);
  const cls = (await rig.services.store.findClass(ctx.place))!;
  assert.deepEqual((await rig.services.store.listPolls(cls.id)).map((p) => p.id), [1], 'only the automatic poll exists');
  assert.equal(await rig.services.store.getPoll(2), undefined);
  const rv = commandContext(rig.services, rig.channel, 'reveal', {}, TEACHER);
  await reveal.run(rv);
  assert.match(rv.replies[0]!.first.text, /Votación #1 revelada/);
});

test('the engine caps the prompt by tokens (150 emoji = 600 tokens) with room for the story: PROMPT_TOO_LONG', async () => {
  assert.equal(maxPromptTokens(256, 160), 128);
  assert.equal(maxPromptTokens(1024, 160), 864);
  assert.equal(maxPromptTokens(64, 40), 32);
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'quijote-tokcap-'));
  try {
    const config = loadConfig({ QUIJOTE_MODEL: MODEL_DIR, QUIJOTE_BACKEND: 'wasm', MAX_NEW_TOKENS: '40', DATA_DIR: dataDir, HF_HUB_OFFLINE: '1', WASM_THREADS: '1' });
    const engine = createEngine(config, { now: () => Date.now() });
    await assert.rejects(engine.story('😀'.repeat(150), null, { seed: 1 }), (e: unknown) => {
      assert.ok(isQuijoteError(e, 'PROMPT_TOO_LONG'), String(e));
      assert.match((e as Error).message, /ocupa 600 tokens y el modelo admite 32/);
      return true;
    });
    const ok = await engine.story('En un lugar de la Mancha', null, { seed: 1 });
    assert.ok(ok.newTokens > 0);
    engine.dispose();
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
