import { SchemaDiffError } from '../errors.js';

/**
 * The numeric options of apply, rollback and validate, and the smallest value
 * each one means something at. Checked where they enter (the CLI's flags, the
 * library's options) before anything is opened or locked.
 */
const LIMITS = {
  lockTimeoutMs: {
    min: 1,
    unit: 'ms',
    why: 'lock_timeout 0 turns the timeout off: a blocked ALTER would wait for ever while every writer queues behind it',
  },
  lockRetries: { min: 0, unit: '', why: '' },
  retryBudgetMs: { min: 0, unit: 'ms', why: '' },
  lockWaitMs: { min: 0, unit: 'ms', why: '' },
  samples: { min: 0, unit: '', why: '' },
  jobs: { min: 1, unit: '', why: '' },
} as const;

export type LimitedOption = keyof typeof LIMITS;

// PostgreSQL's lock_timeout and SQLite's busy_timeout are 32-bit milliseconds, as is a Node timer.
const MAX = 2_147_483_647;

/** `value` if it is a whole number within the option's range; otherwise a usage error naming `label` (the flag, or the option). */
export function checkLimit(option: LimitedOption, value: number, label: string = option, given: string = String(value)): number {
  const { min, unit, why } = LIMITS[option];
  if (Number.isInteger(value) && value >= min && value <= MAX) return value;
  const range = value > MAX ? `at most ${MAX}${unit}` : `a whole number${unit ? ` of ${unit}` : ''} >= ${min}`;
  const reason = why && value < min && value >= 0 ? ` (${why})` : '';
  throw new SchemaDiffError('usage', `${label}: expected ${range}, got ${given}${reason}`);
}

/** Checks each option present in `options`, by its library name. */
export function checkLimits(options: Partial<Record<LimitedOption, number>>): void {
  for (const [option, value] of Object.entries(options) as [LimitedOption, number | undefined][]) {
    if (value !== undefined && option in LIMITS) checkLimit(option, value);
  }
}
