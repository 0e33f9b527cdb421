/**
 * `/results exportar:csv [ids:si]`: the class's polls as a CSV file. Anonymous by default (posted like /results);
 * with voter ids only for teachers, and then only the teacher receives it.
 */
import { formatDate } from './messages.ts';
import { pollsCsv } from './export-csv.ts';
import { stringOption } from './respond.ts';
import type { CommandContext } from './types.ts';

const YES = ['si', 'yes', 'true', '1']; // compared without accents: «sí» is «si»
const NO = ['no', 'false', '0', ''];

export async function exportResults(ctx: CommandContext): Promise<void> {
  const s = ctx.services;
  const t = s.t;
  const format = stringOption(ctx, 'exportar').toLowerCase();
  const ids = stringOption(ctx, 'ids').toLowerCase().normalize('NFD').replace(/\p{M}/gu, '');
  if (format !== 'csv' || ![...YES, ...NO].includes(ids)) {
    await ctx.reply({ text: t('export.usage'), ephemeral: true });
    return;
  }
  const withIds = YES.includes(ids);
  if (withIds && !ctx.user.isTeacher) {
    await ctx.reply({ text: t('export.idsTeacherOnly'), ephemeral: true });
    return;
  }
  const cls = await s.store.findClass(ctx.place);
  const polls = cls ? (await s.store.listPolls(cls.id)).length : 0;
  if (!cls || polls === 0) {
    await ctx.reply({ text: t('results.none'), ephemeral: withIds });
    return;
  }
  const day = formatDate(s.clock.now()).slice(0, 10);
  const file = {
    filename: `votaciones-${day}${withIds ? '-con-ids' : ''}.csv`,
    data: Buffer.from(await pollsCsv(s, cls.id, { withIds }), 'utf8'),
    description: t(withIds ? 'export.descriptionIds' : 'export.description', { polls }),
  };
  await ctx.reply({ text: t(withIds ? 'export.readyIds' : 'export.ready', { polls }), file, ephemeral: withIds });
}
