/** Small helpers shared by the command modules: permissions, errors, options, queue positions, text sizes. */
import { isQuijoteError } from '../core/errors.ts';
import type { JobInfo } from '../core/jobs/protocol.ts';
import type { MessageKey } from './messages.ts';
import { escapeMarkdown, graphemePrefix } from './text-safety.ts';
import type { CommandContext, InteractionContext, Place, Services } from './types.ts';

/** Answers a polite refusal (only the caller sees it) and returns false unless the caller is a teacher. */
export async function requireTeacher(ctx: InteractionContext, command: string): Promise<boolean> {
  if (ctx.user.isTeacher) return true;
  await ctx.reply({ text: ctx.services.t('common.teacherOnly', { command }), ephemeral: true });
  return false;
}

const KNOWN_ERRORS = ['CANCELLED', 'OUT_OF_MEMORY', 'MODEL_NOT_FOUND', 'BACKEND_UNAVAILABLE', 'GPU_ERROR', 'COMPUTE_CRASHED', 'PROMPT_TOO_LONG', 'NO_SPACE'] as const;
type KnownError = (typeof KNOWN_ERRORS)[number];

/** One line saying what went wrong, in the bot's language where the error code is known. */
export function errorDetail(services: Services, error: unknown): string {
  if (isQuijoteError(error)) {
    if ((KNOWN_ERRORS as readonly string[]).includes(error.code)) {
      return services.t(`error.${error.code as KnownError}` satisfies MessageKey);
    }
    return services.t('error.other', { detail: error.message });
  }
  return services.t('error.other', { detail: error instanceof Error ? error.message : String(error) });
}

/** Logs a failed command and tells the caller (QuijoteErrors in words; anything else as an internal error). */
export async function replyFailure(ctx: InteractionContext, command: string, error: unknown): Promise<void> {
  const s = ctx.services;
  // INTERNAL: an unexpected error, maybe from the compute process (plain errors cross the boundary as INTERNAL)
  const known = isQuijoteError(error) && error.code !== 'INTERNAL';
  const text = known ? s.t('common.failed', { command, detail: errorDetail(s, error) }) : s.t('common.internal', { command });
  if (known) s.logger.warn(`/${command} by ${ctx.user.id} in ${placeLabel(ctx.place)}: ${error.code}: ${error.message}`);
  else s.logger.error(`/${command} by ${ctx.user.id} in ${placeLabel(ctx.place)} failed`, error);
  try {
    await ctx.reply({ text, ephemeral: true });
  } catch (e) {
    s.logger.error(`/${command}: could not report the failure to the caller`, e);
  }
}

export function placeLabel(place: Place): string {
  return `${place.platform}:${place.teamId}/${place.channelId}`;
}

export function samePlace(a: Place, b: Place): boolean {
  return a.platform === b.platform && a.teamId === b.teamId && a.channelId === b.channelId;
}

/** A numeric option, or undefined when absent or blank. Strings are parsed (Slack sends text). NaN when not a number. */
export function numberOption(ctx: CommandContext, name: string): number | undefined {
  const v = ctx.options[name];
  if (v === undefined || v === null || (typeof v === 'string' && v.trim() === '')) return undefined;
  return typeof v === 'number' ? v : Number(String(v).trim().replace(',', '.'));
}

export function stringOption(ctx: CommandContext, name: string): string {
  const v = ctx.options[name];
  return v === undefined || v === null ? '' : String(v).trim();
}

/** "Posición en la cola: 2." or "En marcha ahora mismo." (empty once the job has finished). */
export async function positionText(services: Services, jobId: string): Promise<string> {
  const position = await services.compute.position(jobId);
  if (position === undefined) return '';
  return position === 0 ? services.t('queue.running') : services.t('queue.position', { position });
}

/** Request ids are UUIDs; people read the first 8 characters. */
export function shortJobId(id: string): string {
  return id.length > 8 ? id.slice(0, 8) : id;
}

export function jobLine(services: Services, job: JobInfo): string {
  return services.t('job.line', {
    id: shortJobId(job.id),
    kind: services.t(`job.kind.${job.kind}`),
    owner: job.ownerName ?? job.ownerId,
    label: job.label ? ` (${escapeMarkdown(job.label)})` : '',
  });
}

/**
 * Cuts text to at most `max` UTF-16 units with an ellipsis, between graphemes (never inside an emoji or an accented
 * letter), keeping **bold** markers paired and never leaving a dangling Markdown escape.
 */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  const bolds = (x: string) => (x.match(/\*\*/g) ?? []).length;
  const cutTo = (n: number) => graphemePrefix(text, Math.max(0, n)).trimEnd().replace(/(?<!\\)((?:\\\\)*)\\$/, '$1');
  let cut = cutTo(max - 1);
  if (bolds(cut) % 2 === 1) {
    cut = cutTo(max - 3);
    if (bolds(cut) % 2 === 1) cut += '**';
  }
  return `${cut}…`;
}

/** Whether the generated text continues the prompt mid-sentence (so the prompt must be shown in front of it). */
export function continuesPrompt(prompt: string): boolean {
  return !/[.!?…»"”)]\s*$/.test(prompt.trim());
}

/**
 * The story as the class reads it: the prompt plus the continuation when the prompt is an unfinished sentence
 * ("Érase una vez un hidalgo"), the continuation alone when the prompt is a whole sentence or an instruction.
 */
export function joinStory(prompt: string, text: string): string {
  const body = text.trim();
  if (!continuesPrompt(prompt)) return body;
  if (body === '') return prompt.trim();
  return /^[,.;:!?)»”]/.test(body) ? `${prompt.trim()}${body}` : `${prompt.trim()} ${body}`;
}
