/**
 * Typed readers for environment variables. Each reader records a message in `errors` instead of throwing, so
 * that loadConfig can report every problem at once. Empty or blank values count as unset.
 */
import { configTexts, localeOf, type ConfigLocale, type Localized } from './messages.ts';

export type Env = Readonly<Record<string, string | undefined>>;
/** What a value should be, in both languages (a plain string is used as is in both). */
export type Expected = Localized | string;

const NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?$/i;

export class EnvReader {
  readonly errors: string[] = [];
  /** The language of the messages in `errors` (LOCALE, Spanish unless it says en). */
  readonly locale: ConfigLocale;
  readonly texts: ReturnType<typeof configTexts>;
  constructor(private readonly env: Env) {
    this.locale = localeOf(env);
    this.texts = configTexts(this.locale);
  }

  /** A Localized text in the reader's language. */
  say(text: Expected): string {
    return typeof text === 'string' ? text : text[this.locale];
  }

  /** The trimmed value, or undefined when unset or blank. */
  raw(name: string): string | undefined {
    const v = this.env[name];
    if (v === undefined) return undefined;
    const t = v.trim();
    return t === '' ? undefined : t;
  }

  private fail<T>(name: string, expected: Expected, got: string, fallback: T): T {
    this.errors.push(this.texts.expected(name, this.say(expected), got));
    return fallback;
  }

  string(name: string, fallback: string): string {
    return this.raw(name) ?? fallback;
  }

  optional(name: string): string | undefined {
    return this.raw(name);
  }

  number(name: string, fallback: number, check: { min?: number; max?: number; minExclusive?: boolean; integer?: boolean; expected: Expected }): number {
    const v = this.raw(name);
    if (v === undefined) return fallback;
    if (!NUMBER.test(v)) return this.fail(name, check.expected, v, fallback);
    const x = Number(v);
    const low = check.min === undefined || (check.minExclusive ? x > check.min : x >= check.min);
    const high = check.max === undefined || x <= check.max;
    if (!Number.isFinite(x) || !low || !high || (check.integer && !Number.isSafeInteger(x))) {
      return this.fail(name, check.expected, v, fallback);
    }
    return x;
  }

  positiveInt(name: string, fallback: number): number {
    return this.number(name, fallback, { min: 1, integer: true, expected: this.texts.positiveInt });
  }

  nonNegativeInt(name: string, fallback: number): number {
    return this.number(name, fallback, { min: 0, integer: true, expected: this.texts.nonNegativeInt });
  }

  positiveNumber(name: string, fallback: number): number {
    return this.number(name, fallback, { min: 0, minExclusive: true, expected: this.texts.positiveNumber });
  }

  nonNegativeNumber(name: string, fallback: number): number {
    return this.number(name, fallback, { min: 0, expected: this.texts.nonNegativeNumber });
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const v = this.raw(name);
    if (v === undefined) return fallback;
    const lower = v.toLowerCase();
    const hit = allowed.find((a) => a === lower);
    return hit ?? this.fail(name, this.texts.oneOf(allowed), v, fallback);
  }

  /** Comma-separated list: items trimmed, empty items dropped; each must match `item`. */
  list(name: string, fallback: readonly string[], item: RegExp, expected: Expected): string[] {
    const v = this.raw(name);
    if (v === undefined) return [...fallback];
    const items = v.split(',').map((s) => s.trim()).filter((s) => s !== '');
    if (items.length === 0 || items.some((s) => !item.test(s))) return this.fail(name, expected, v, [...fallback]);
    return items;
  }

  matching(name: string, re: RegExp, expected: Expected): string | undefined {
    const v = this.raw(name);
    if (v === undefined) return undefined;
    return re.test(v) ? v : this.fail(name, expected, v, undefined);
  }

  url(name: string, fallback: string): string {
    const v = this.raw(name);
    if (v === undefined) return fallback;
    try {
      const u = new URL(v);
      if (u.protocol === 'http:' || u.protocol === 'https:') return v;
    } catch {
      // reported below
    }
    return this.fail(name, this.texts.url, v, fallback);
  }

  regex(name: string): RegExp | null {
    const v = this.raw(name);
    if (v === undefined) return null;
    try {
      return new RegExp(v);
    } catch (e) {
      return this.fail(name, this.texts.regex(e instanceof Error ? e.message : String(e)), v, null);
    }
  }
}

/** Recursively freezes plain objects and arrays (RegExp values are frozen too; they are used without /g). */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as object)) deepFreeze(v);
  }
  return value;
}
