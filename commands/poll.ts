/**
 * Blind polls: two stories for the same prompt and seed, one from the base model and one from the class's
 * fine-tuned model, shown as "Historia A" / "Historia B" in random order. Nothing in the message (text or button
 * ids) says which is which until /reveal.
 */
import type { PollChoice, PollRow, RunRow, StoryRow, Tally } from '../core/store/types.ts';
import { clip, joinStory, positionText } from './respond.ts';
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

/** The poll message; closed polls lose their buttons. Never names the models. */
export function renderPoll(services: Services, poll: PollRow, a: StoryRow, b: StoryRow, tally: Tally): OutgoingMessage {
  const t = services.t;
  const parts = [
    t('poll.title', { poll: poll.id, prompt: poll.prompt }),
    t('poll.story', { choice: 'A', text: clip(joinStory(a.prompt, a.text), MAX_STORY_CHARS) }),
    t('poll.story', { choice: 'B', text: clip(joinStory(b.prompt, b.text), MAX_STORY_CHARS) }),
    t('poll.votes', { a: tally.A, b: tally.B }),
  ];
  if (poll.status === 'closed') parts.push(t('poll.closed'));
  return { text: parts.join('\n\n'), buttons: poll.status === 'open' ? voteButtons(services, poll.id) : [] };
}

export function pollStories(services: Services, poll: PollRow): { a: StoryRow; b: StoryRow } {
  const a = services.store.getStory(poll.storyAId);
  const b = services.store.getStory(poll.storyBId);
  if (!a || !b) throw new Error(`poll ${poll.id} references missing stories`);
  return { a, b };
}

/**
 * Re-renders the poll message with the current tally (and closed state). Edits of one poll are serialized and
 * each reads the tally when it runs, so the message always ends with the latest count.
 */
export function refreshPollMessage(services: Services, pollId: number, handle?: MessageHandle): Promise<void> {
  const target = handle ?? services.pollMessages.get(pollId);
  if (!target) return Promise.resolve();
  return services.pollMessages.serialize(pollId, async () => {
    const poll = services.store.getPoll(pollId);
    if (!poll) return;
    const { a, b } = pollStories(services, poll);
    await target.edit(renderPoll(services, poll, a, b, services.store.tally(pollId)));
  });
}

export interface BlindPollRequest {
  place: Place;
  classId: number;
  run: RunRow;
  prompt: string;
  ownerId: string;
  ownerName?: string;
  /** Posts the poll as an ordinary channel message (it must stay editable for hours). */
  post(message: OutgoingMessage): Promise<MessageHandle>;
  /** Told the queue position right after the story job is queued. */
  onQueued?(positionText: string): Promise<unknown> | void;
}

/** Queues the two generations (one story job in compute), stores both stories and the poll, and posts it. */
export async function createBlindPoll(services: Services, req: BlindPollRequest): Promise<PollRow> {
  const s = services;
  const modelDir = req.run.modelDir;
  if (!modelDir) throw new Error(`run ${req.run.id} has no model folder`);
  const seed = s.rng.int(2 ** 31);
  const job = s.compute.submit({
    kind: 'story',
    params: { prompt: req.prompt, seed, modelDir },
    place: req.place,
    owner: { id: req.ownerId, name: req.ownerName },
    label: clip(req.prompt, 40),
  });
  if (req.onQueued) await req.onQueued(await positionText(s, job.info.id));
  const { base, tuned } = await job.result;

  const finetunedChoice: PollChoice = s.rng.int(2) === 0 ? 'A' : 'B';
  const common = { classId: req.classId, runId: req.run.id, prompt: req.prompt, seed };
  const baseRow = s.store.createStory({ ...common, model: 'base', text: base.text });
  const tunedRow = s.store.createStory({ ...common, model: 'finetuned', text: tuned.text });
  const [a, b] = finetunedChoice === 'A' ? [tunedRow, baseRow] : [baseRow, tunedRow];
  const poll = s.store.createPoll({
    classId: req.classId, runId: req.run.id, prompt: req.prompt, storyAId: a.id, storyBId: b.id, finetunedChoice, createdBy: req.ownerId,
  });
  const handle = await req.post(renderPoll(s, poll, a, b, s.store.tally(poll.id)));
  s.store.setPollMessage(poll.id, req.place.channelId, handle.id);
  s.pollMessages.remember(poll.id, handle);
  return poll;
}
