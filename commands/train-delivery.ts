/**
 * A front-end taking over the end of a training that another front-end submitted and could not deliver (it died,
 * or was killed while posting the results): the outcome comes from the queue (the job's return value or failure),
 * the claim comes from the store (commands/delivery.ts), and only the steps that front-end did not record are
 * posted: the last progress edit, the results message (an edit of it if it was posted), the automatic poll.
 */
import type { TrainResult } from '../core/engine.ts';
import { QuijoteError } from '../core/errors.ts';
import type { QueuedJobOutcome } from '../core/jobs/types.ts';
import { runMetricsOf, type RunRow } from '../core/store/types.ts';
import type { DeliveryClaim } from './delivery.ts';
import { formatDuration } from './messages.ts';
import { errorDetail } from './respond.ts';
import type { ProgressReporter } from './progress.ts';
import { pruneClassRuns } from './runs-cleanup.ts';
import { announceResults, openPoll, type RunChannel } from './train.ts';
import type { MessageHandle, OutgoingMessage, Place, Services } from './types.ts';

/** The class channel as a platform runtime reaches it, outside any interaction. */
export interface ClassChannel {
  place: Place;
  post(message: OutgoingMessage): Promise<MessageHandle>;
  edit(messageId: string, message: OutgoingMessage): Promise<void>;
}

export type FinishedTrainJob = Exclude<QueuedJobOutcome<'train'>, { state: 'live' } | { state: 'missing' }>;

/** `progress`: the reporter this front-end edited the progress message with while it followed the training, if it did. */
export async function deliverTakenOver(s: Services, channel: ClassChannel, claim: DeliveryClaim, run: RunRow, job: FinishedTrainJob, progress?: ProgressReporter): Promise<void> {
  const t = s.t;
  const editProgress = async (text: string) => {
    const id = claim.state.progressMessageId;
    if (!id || !claim.held) return;
    if (progress) return progress.finish({ text }); // after the edits it still has in flight
    await channel.edit(id, { text }).catch((e: unknown) => s.logger.warn(`train #${run.id}: could not edit the progress message: ${e instanceof Error ? e.message : String(e)}`));
  };
  const active = run.status === 'queued' || run.status === 'running';
  if (job.state !== 'completed') {
    const cancelled = job.state === 'cancelled';
    const error = cancelled ? undefined : new QuijoteError(job.error.code, job.error.message, { hint: job.error.hint });
    if (active) await s.store.endRun(run.id, cancelled ? 'cancelled' : 'failed', error?.message ?? 'cancelled');
    await editProgress(cancelled ? t('train.progressCancelled', { run: run.id }) : t('train.progressFailed', { run: run.id, detail: errorDetail(s, error) }));
    await pruneClassRuns(s, run.classId);
    await claim.finish();
    s.logger.info(`train #${run.id}: its ${job.state} end delivered by this front-end (taken over)`);
    return;
  }
  const result: TrainResult = job.result;
  const done = active ? await s.store.completeRun(run.id, { metrics: runMetricsOf(result), lossCurve: result.lossCurve, modelDir: result.modelDir }) : run;
  await pruneClassRuns(s, run.classId);
  await editProgress(t('train.progressDone', { run: run.id, lines: run.params.lines, steps: result.optimizerSteps, duration: formatDuration(result.seconds) }));
  const ch: RunChannel = { place: channel.place, services: s, post: (m) => channel.post(m) };
  const postedId = claim.state.resultsMessageId;
  const posted: MessageHandle | undefined = postedId ? { id: postedId, edit: (m) => channel.edit(postedId, m) } : undefined;
  await announceResults(ch, done, result, posted, claim);
  await openPoll(ch, done, claim);
  await claim.finish();
  s.logger.info(`train #${run.id}: results delivered by this front-end (taken over)`);
}
