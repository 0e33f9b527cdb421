/**
 * Small seeded pseudo-random generator: sfc32 (Chris Doty-Humphrey's Small Fast Counting generator, 128-bit
 * state) seeded through splitmix32. Pure 32-bit integer arithmetic (Math.imul, >>> 0), so the sequence is
 * identical on every platform and Node version. Not cryptographic.
 */
import { QuijoteError } from '../errors.ts';

export interface Rng {
  /** Uniform float in [0, 1) with 32 bits of resolution. */
  next(): number;
  /** Uniform integer in [0, n), unbiased (rejection sampling); n a positive integer <= 2^32. */
  int(n: number): number;
}

const TWO_POW_32 = 4294967296;

/** splitmix32: turns any 32-bit seed into well-mixed words for the main generator's state. */
function splitmix32(seed: number): () => number {
  let a = seed | 0;
  return () => {
    a = (a + 0x9e3779b9) | 0;
    let t = a ^ (a >>> 16);
    t = Math.imul(t, 0x21f0aaad);
    t ^= t >>> 15;
    t = Math.imul(t, 0x735a2d97);
    t ^= t >>> 15;
    return t >>> 0;
  };
}

/**
 * Creates a generator from a seed. Any finite number is accepted: its integer part is split into the low and
 * high 32-bit words (so seeds up to 2^53 all differ) and a fractional part is ignored.
 */
export function createRng(seed: number): Rng {
  if (typeof seed !== 'number' || !Number.isFinite(seed)) {
    throw new QuijoteError('BAD_ARGUMENT', `createRng: seed must be a finite number, got ${String(seed)}.`, {
      hint: 'Pass an integer seed such as 42.',
    });
  }
  const whole = Math.trunc(Math.abs(seed));
  const lo = whole % TWO_POW_32;
  const hi = Math.floor(whole / TWO_POW_32) ^ (seed < 0 ? 0x80000000 : 0);
  const mixLo = splitmix32(lo);
  const mixHi = splitmix32(hi ^ 0x5bd1e995);
  let a = mixLo() ^ mixHi();
  let b = mixLo() ^ mixHi();
  let c = mixLo() ^ mixHi();
  let d = mixLo() ^ mixHi();

  const nextU32 = (): number => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
  // Discard the first outputs so that nearby seeds decorrelate fully (standard sfc32 warm-up).
  for (let i = 0; i < 15; i++) nextU32();

  return {
    next: () => nextU32() / TWO_POW_32,
    int: (n: number): number => {
      if (!Number.isInteger(n) || n <= 0 || n > TWO_POW_32) {
        throw new QuijoteError('BAD_ARGUMENT', `Rng.int: n must be an integer in [1, 2^32], got ${String(n)}.`);
      }
      // Largest multiple of n that fits in 32 bits; values at or above it would bias the modulo.
      const limit = TWO_POW_32 - (TWO_POW_32 % n);
      for (;;) {
        const x = nextU32();
        if (x < limit) return x % n;
      }
    },
  };
}

/** Fisher–Yates shuffle into a new array; `items` is left untouched. */
export function shuffle<T>(items: readonly T[], rng: Rng): T[] {
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const tmp = out[i];
    out[i] = out[j];
    out[j] = tmp;
  }
  return out;
}
