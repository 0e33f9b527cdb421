/** The pictures the bot draws, by name: what off-thread.ts may run in its worker. Arguments must be plain data. */
import { renderLossCurve } from './loss-curve.ts';
import { renderRunsChart } from './runs-chart.ts';
import { renderTokenHeatmap } from './token-heatmap.ts';
import { renderNextTokenBars } from './next-token-bars.ts';
import { renderFilmStrip } from './film-strip.ts';
import { renderAttentionMap } from './attention-map.ts';
import { renderSweepCard } from './sweep-card.ts';
import { renderSweepVotes } from './sweep-votes.ts';

export const renderers = {
  lossCurve: (...args: Parameters<typeof renderLossCurve>) => renderLossCurve(...args),
  runsChart: (...args: Parameters<typeof renderRunsChart>) => renderRunsChart(...args),
  tokenHeatmap: (...args: Parameters<typeof renderTokenHeatmap>) => renderTokenHeatmap(...args),
  nextTokenBars: (...args: Parameters<typeof renderNextTokenBars>) => renderNextTokenBars(...args),
  filmStrip: (...args: Parameters<typeof renderFilmStrip>) => renderFilmStrip(...args),
  attentionMap: (...args: Parameters<typeof renderAttentionMap>) => renderAttentionMap(...args),
  sweepCard: (...args: Parameters<typeof renderSweepCard>) => renderSweepCard(...args),
  sweepVotes: (...args: Parameters<typeof renderSweepVotes>) => renderSweepVotes(...args),
} satisfies Record<string, (...args: never[]) => Buffer>;

export type PictureName = keyof typeof renderers;
