/** The pictures the bot draws, by name: what off-thread.ts may run in its worker. Arguments must be plain data. */
import { renderLossCurve } from './loss-curve.ts';

export const renderers = {
  lossCurve: (...args: Parameters<typeof renderLossCurve>) => renderLossCurve(...args),
} satisfies Record<string, (...args: never[]) => Buffer>;

export type PictureName = keyof typeof renderers;
