import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseOptions } from '../bot/slack/options.ts';
import { createHelp } from '../commands/help.ts';
import { story } from '../commands/story.ts';
import { train } from '../commands/train.ts';
import { parseComputeCommand } from '../core/jobs/protocol.ts';
import { inKnobRange, samplingConfig } from '../core/sample/knobs.ts';
import { isRepetitive, repetitionShare } from '../core/story/repetition.ts';
import { commandContext, createTestRig, settle, STUDENT, type TestRig } from './helpers/fake-context.ts';

async function trainedRig(env: Record<string, string> = {}): Promise<TestRig> {
  const rig = createTestRig({ engine: { steps: 2 }, env });
  await train.run(commandContext(rig.services, rig.channel, 'train', { lines: 5 }));
  await rig.services.compute.idle();
  await settle();
  return rig;
}

test('each /story knob outside the notebook ranges gets its own friendly refusal and nothing is generated', async () => {
  const rig = await trainedRig();
  const before = rig.engine.storyCalls.length;
  const cases: Array<[Record<string, number | string>, RegExp]> = [
    [{ temperatura: 0 }, /`temperatura` debe estar entre 0,1 y 2 \(escribiste 0\)/],
    [{ temperatura: 2.5 }, /`temperatura` debe estar entre 0,1 y 2/],
    [{ top_k: 201 }, /`top_k` debe ser un número entero entre 0 y 200/],
    [{ top_k: 4.5 }, /`top_k` debe ser un número entero/],
    [{ top_p: 0.3 }, /`top_p` debe estar entre 0,5 y 1/],
    [{ top_p: 1.2 }, /`top_p` debe estar entre 0,5 y 1/],
    [{ penalizacion: 0.9 }, /`penalizacion` debe estar entre 1 y 2 .*1,2–1,3 corta los bucles/],
    [{ penalizacion: 'mucha' }, /`penalizacion` debe estar entre 1 y 2 \(escribiste mucha\)/],
  ];
  for (const [opts, pattern] of cases) {
    const ctx = commandContext(rig.services, rig.channel, 'story', { prompt: 'En un lugar', ...opts }, STUDENT);
    await story.run(ctx);
    assert.equal(ctx.replies.length, 1, JSON.stringify(opts));
    assert.match(ctx.replies[0].first.text, pattern);
    assert.equal(ctx.replies[0].first.ephemeral, true);
  }
  assert.equal(rig.engine.storyCalls.length, before);
});

test('/story knobs travel in the story job to both generations and are named in the answer', async () => {
  const rig = await trainedRig();
  const before = rig.engine.storyCalls.length;
  const ctx = commandContext(rig.services, rig.channel, 'story', { prompt: 'En un lugar', temperatura: 0.8, top_k: 40, top_p: 0.97, penalizacion: 1.25 }, STUDENT);
  await story.run(ctx);
  const calls = rig.engine.storyCalls.slice(before);
  assert.equal(calls.length, 2);
  for (const c of calls) assert.deepEqual(c.sampling, { temperature: 0.8, topK: 40, topP: 0.97, repetitionPenalty: 1.25 });
  assert.match(ctx.replies[0].current.text, /Ajustes de muestreo: temperatura 0,8 · top_k 40 · top_p 0,97 · penalizacion 1,25\./);
  // Without knobs nothing extra is sent: the engine's configured defaults apply.
  const plain = commandContext(rig.services, rig.channel, 'story', { prompt: 'Otra vez' }, STUDENT);
  await story.run(plain);
  assert.equal(rig.engine.storyCalls.at(-1)!.sampling, undefined);
  assert.doesNotMatch(plain.replies[0].current.text, /Ajustes/);
});

test('Slack text options parse the knobs (decimal comma too)', () => {
  assert.deepEqual(parseOptions('story', 'prompt:"En un lugar" temperatura:0,8 top_k:40 penalizacion:1.2', story.options), {
    prompt: 'En un lugar', temperatura: 0.8, top_k: 40, top_p: undefined, penalizacion: 1.2, intensidad: undefined,
  });
});

test('knob ranges and their mapping onto the generation config', () => {
  assert.ok(inKnobRange('temperature', 0.1) && inKnobRange('temperature', 2) && !inKnobRange('temperature', 2.01));
  assert.ok(inKnobRange('topK', 0) && !inKnobRange('topK', -1) && !inKnobRange('topK', 10.5));
  assert.ok(inKnobRange('topP', 1) && !inKnobRange('topP', 0.49) && !inKnobRange('topP', Number.NaN));
  assert.ok(inKnobRange('repetitionPenalty', 1.3) && !inKnobRange('repetitionPenalty', 0.99));
  assert.deepEqual(samplingConfig(undefined), {});
  assert.deepEqual(samplingConfig({ temperature: 0.8, topK: 0, topP: 0.97, repetitionPenalty: 1.2 }), {
    temperature: 0.8, top_k: 0, top_p: 0.97, repetition_penalty: 1.2,
  });
});

test('the compute protocol checks the story job sampling', () => {
  const request = (sampling: unknown) => ({
    type: 'submit',
    request: {
      id: 'r1', kind: 'story', params: { prompt: 'x', seed: 1, modelDir: '/m', sampling },
      place: { platform: 'discord', teamId: 'T', channelId: 'C' }, owner: { id: 'u' }, createdAt: 1,
    },
  });
  assert.doesNotThrow(() => parseComputeCommand(request({ temperature: 0.8, topK: 40 })));
  assert.doesNotThrow(() => parseComputeCommand(request(undefined)));
  assert.throws(() => parseComputeCommand(request({ temperature: 'hot' })), /sampling temperature/);
  assert.throws(() => parseComputeCommand(request({ beams: 4 })), /sampling beams/);
  assert.throws(() => parseComputeCommand(request([1])), /sampling/);
});

test('a repetitive story gets the notebook fix in the poll; a short one also gets the temperature knob', async () => {
  assert.ok(isRepetitive(' y el caballero dijo que el caballero dijo que el caballero dijo que el caballero dijo que no.'));
  assert.ok(!isRepetitive(' Había una vez un robot que quería aprender a cocinar. Cada tarde miraba vídeos en su tableta.'));
  assert.equal(repetitionShare('muy corto'), 0);
  const rig = await trainedRig();
  rig.engine.storyTexts = {
    base: ' Había una vez un robot que quería aprender a cocinar.',
    tuned: ' Y dijo el hidalgo que dijo el hidalgo que dijo el hidalgo que dijo el hidalgo que dijo el hidalgo. Fin. Otra. Más. Ya.',
  };
  await story.run(commandContext(rig.services, rig.channel, 'story', { prompt: 'En un lugar' }, STUDENT));
  const poll = rig.channel.posts.at(-1)!.first.text;
  const pollId = Number(/#(\d+)/.exec(poll)![1]);
  const tunedChoice = (await rig.services.store.getPoll(pollId))!.finetunedChoice;
  const baseChoice = tunedChoice === 'A' ? 'B' : 'A';
  assert.match(poll, new RegExp(`La Historia ${tunedChoice} se repite mucho: prueba \`/story\` con \`penalizacion:1.2\` \\(hasta 1,3\\) o \`top_p:0.97\``));
  assert.doesNotMatch(poll, new RegExp(`La Historia ${baseChoice} se repite`));
  assert.match(poll, new RegExp(`La Historia ${baseChoice} solo tiene 1 de 5 oraciones.*MAX_NEW_TOKENS a ~220`));
  assert.match(poll, /también puedes bajar la temperatura: `temperatura:0.8`/);
});

test('/help explains the knobs in both languages', async () => {
  for (const [locale, pattern] of [['es', /Mandos de `\/story`.*penalizacion.*1,2–1,3.*top_p` a 0,97.*temperatura a 0,8/], ['en', /`\/story` knobs.*1\.2–1\.3.*0\.97.*0\.8/]] as const) {
    const rig = createTestRig({ env: { LOCALE: locale } });
    const help = createHelp(() => [story]);
    const ctx = commandContext(rig.services, rig.channel, 'help', {});
    await help.run(ctx);
    assert.match(ctx.replies.map((r) => r.first.text).join('\n'), pattern);
  }
});

test('the knobs reach the real engine: top_k 1 makes the tiny model greedy, so two seeds write the same story', async () => {
  const { mkdtempSync, rmSync } = await import('node:fs');
  const os = await import('node:os');
  const path = await import('node:path');
  const { loadConfig } = await import('../config/index.ts');
  const { createEngine } = await import('../core/pipeline/tfjs-engine.ts');
  const { MODEL_DIR } = await import('./helpers/e2e.ts');
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'quijote-knobs-'));
  try {
    const config = loadConfig({ QUIJOTE_MODEL: MODEL_DIR, QUIJOTE_BACKEND: 'wasm', MAX_NEW_TOKENS: '24', DATA_DIR: dataDir, HF_HUB_OFFLINE: '1', WASM_THREADS: '1' });
    const engine = createEngine(config, { now: () => Date.now() });
    const prompt = 'En un lugar de la Mancha';
    const g1 = await engine.story(prompt, null, { seed: 1, sampling: { topK: 1 } });
    const g2 = await engine.story(prompt, null, { seed: 2, sampling: { topK: 1 } });
    assert.equal(g1.text, g2.text);
    const hot = { temperature: 2, topK: 0, topP: 1 };
    const s1 = await engine.story(prompt, null, { seed: 1, sampling: hot });
    const s2 = await engine.story(prompt, null, { seed: 2, sampling: hot });
    assert.notEqual(s1.text, s2.text, 'hot sampling with different seeds differs');
    engine.dispose();
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
