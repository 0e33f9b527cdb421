/**
 * Blind polls: two stories for the same prompt and seed, one from the base model and one from the class's
 * fine-tuned model, shown as "Historia A" / "Historia B" in random order. Nothing in the message (text or button
 * ids) says which is which until /reveal.
 */
import type { SamplingOverrides } from '../core/engine.ts';
import type { JobHandle } from '../core/jobs/types.ts';
import type { PollChoice, PollRow, RunRow, StoryRow, Tally } from '../core/store/types.ts';
import { isRepetitive } from '../core/story/repetition.ts';
import { cutStory } from '../core/story/sentences.ts';
import { clip, joinStory, positionText } from './respond.ts';
import { escapeMarkdown } from './text-safety.ts';
import type { ButtonSpec, MessageHandle, OutgoingMessage, Place, Services } from './types.ts';

export const MAX_STORY_CHARS = 800;

export function otherChoice(c: PollChoice): PollChoice {
  return c === 'A' ? 'B' : 'A';
}

export function parseChoice(s: string | undefined): PollChoice | undefined {
  return s === 'A' || s === 'B' ? s : undefined;
}

export function voteButtons(services: Services, pollId: number): ButtonSpec[] {
  return [
    { id: `vote:${pollId}:A`, label: services.t('poll.button', { choice: 'A' }), style: 'primary' },
    { id: `vote:${pollId}:B`, label: services.t('poll.button', { choice: 'B' }), style: 'primary' },
    { id: `reveal:${pollId}`, label: services.t('poll.reveal'), style: 'secondary' },
  ];
}

/**
 * Upper bound of a rendered poll: Discord allows 2000 characters of content (a little margin kept); Slack gets
 * the same text split into 3000-character sections. The stories shrink to fit; the tally never goes.
 */
export const MAX_POLL_CHARS = 1990;
const MAX_TITLE_PROMPT_CHARS = 400;

/**
 * How the vote line reads: while open, blind by default (only how many voted) or the live split when the setting
 * is on; once revealed, the split.
 */
export function voteLine(services: Services, tally: Tally, closed = false): string {
  return closed || services.config.polls.liveSplit
    ? services.t('poll.votes', { a: tally.A, b: tally.B })
    : services.t('poll.voted', { total: tally.total });
}

/** The poll message; closed polls lose their buttons. Never names the models, and by default never the split. */
export function renderPoll(services: Services, poll: PollRow, a: StoryRow, b: StoryRow, tally: Tally): OutgoingMessage {
  const t = services.t;
  const title = t('poll.title', { poll: poll.id, prompt: clip(escapeMarkdown(poll.prompt), MAX_TITLE_PROMPT_CHARS) });
  const tail: string[] = [];
  let short = false;
  for (const [choice, story] of [['A', a], ['B', b]] as const) {
    const cut = cutStory(story.text);
    if (!cut.complete) {
      tail.push(t('poll.fewSentences', { choice, sentences: cut.sentences }));
      short = true;
    }
    if (isRepetitive(story.text)) tail.push(t('poll.repetitive', { choice }));
  }
  if (short) tail.push(t('poll.fewSentencesKnob'));
  tail.push(voteLine(services, tally, poll.status === 'closed'));
  if (poll.status === 'closed') tail.push(t('poll.closed'));
  const header = (choice: PollChoice) => t('poll.story', { choice, text: '' });
  const fixed = [title, ...tail].join('\n\n').length + 2 * '\n\n'.length + header('A').length + header('B').length;
  const perStory = Math.max(40, Math.min(MAX_STORY_CHARS, Math.floor((MAX_POLL_CHARS - fixed) / 2)));
  const body = (st: StoryRow) => clip(escapeMarkdown(joinStory(st.prompt, st.text)), perStory);
  const parts = [title, t('poll.story', { choice: 'A', text: body(a) }), t('poll.story', { choice: 'B', text: body(b) }), ...tail];
  return { text: parts.join('\n\n'), buttons: poll.status === 'open' ? voteButtons(services, poll.id) : [] };
}

export async function pollStories(services: Services, poll: PollRow): Promise<{ a: StoryRow; b: StoryRow }> {
  const a = await services.store.getStory(poll.storyAId);
  const b = await services.store.getStory(poll.storyBId);
  if (!a || !b) throw new Error(`poll ${poll.id} references missing stories`);
  return { a, b };
}

/**
 * Asks for the poll message to show the current tally (and closed state). Coalesced per poll
 * (commands/poll-messages.ts): at most one edit in flight, and the next one renders whatever the store says when
 * it starts, so the message always ends with the latest count however many clicks came in between. Never
 * rejects: a failed edit is logged. Callers need not await it (votes and /reveal do not).
 */
export async function refreshPollMessage(services: Services, pollId: number, handle?: MessageHandle): Promise<void> {
  let target: MessageHandle | undefined;
  try {
    target = handle ?? (await services.pollMessages.get(pollId));
  } catch (e) {
    services.logger.warn(`poll #${pollId}: could not find its message: ${e instanceof Error ? e.message : String(e)}`);
    return;
  }
  if (!target) return;
  const message = target;
  // The store's poll lock serializes the read and the edit across front-ends: the message always ends with the
  // state the last edit read, never with an older render that landed later.
  return services.pollMessages.request(pollId, () => services.store.withPollLock(pollId, async () => {
    const poll = await services.store.getPoll(pollId);
    if (!poll) return;
    const { a, b } = await pollStories(services, poll);
    try {
      await message.edit(renderPoll(services, poll, a, b, await services.store.tally(pollId)));
    } catch (e) {
      services.logger.warn(`poll #${pollId}: could not update its message: ${e instanceof Error ? e.message : String(e)}`);
      throw e; // the editor tries again unless a newer edit is already waiting
    }
  }));
}

export interface BlindPollRequest {
  place: Place;
  classId: number;
  run: RunRow;
  prompt: string;
  /** The /story knobs (temperature, top_k, top_p, repetition penalty); the configured defaults otherwise. */
  sampling?: SamplingOverrides;
  ownerId: string;
  ownerName?: string;
  /** Posts the poll as an ordinary channel message (it must stay editable for hours). */
  post(message: OutgoingMessage): Promise<MessageHandle>;
  /** Told the queue position right after the story job is queued. */
  onQueued?(positionText: string): Promise<unknown> | void;
  /** Called synchronously with the story job as soon as it is submitted (admission control binds its slot). */
  onSubmitted?(job: JobHandle<'story'>): void;
}

/** Queues the two generations (one story job in compute), stores both stories and the poll, and posts it. */
export async function createBlindPoll(services: Services, req: BlindPollRequest): Promise<PollRow> {
  const s = services;
  const modelDir = req.run.modelDir;
  if (!modelDir) throw new Error(`run ${req.run.id} has no model folder`);
  const seed = s.rng.int(2 ** 31);
  const job = s.compute.submit({
    kind: 'story',
    params: { prompt: req.prompt, seed, modelDir, ...(req.sampling ? { sampling: req.sampling } : {}) },
    place: req.place,
    owner: { id: req.ownerId, name: req.ownerName },
    label: clip(req.prompt, 40),
  });
  req.onSubmitted?.(job);
  if (req.onQueued) await req.onQueued(await positionText(s, job.info.id));
  const { base, tuned } = await job.result;

  const finetunedChoice: PollChoice = s.rng.int(2) === 0 ? 'A' : 'B';
  const common = { classId: req.classId, runId: req.run.id, prompt: req.prompt, seed };
  const baseRow = await s.store.createStory({ ...common, model: 'base', text: base.text });
  const tunedRow = await s.store.createStory({ ...common, model: 'finetuned', text: tuned.text });
  const [a, b] = finetunedChoice === 'A' ? [tunedRow, baseRow] : [baseRow, tunedRow];
  const poll = await s.store.createPoll({
    classId: req.classId, runId: req.run.id, prompt: req.prompt, storyAId: a.id, storyBId: b.id, finetunedChoice, createdBy: req.ownerId,
  });
  // Only a posted poll is open: until setPollMessage marks it posted, /reveal, /results and votes ignore it,
  // and a failed post removes it (the caller tells the user why, e.g. which permission is missing).
  let handle: MessageHandle;
  try {
    handle = await req.post(renderPoll(s, poll, a, b, await s.store.tally(poll.id)));
  } catch (e) {
    await s.store.discardUnpostedPoll(poll.id);
    throw e;
  }
  await s.store.setPollMessage(poll.id, req.place.channelId, handle.id);
  s.pollMessages.remember(poll.id, handle);
  return poll;
}
