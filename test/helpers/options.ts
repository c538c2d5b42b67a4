import type { ApplyOptions } from '../../src/run/apply.js';

/** apply's options as the CLI defaults them, confirmed: tests spread over it what they vary. */
export const testApplyOptions: ApplyOptions = {
  manifestPath: 'manifest/mestore.ts',
  lockTimeoutMs: 25,
  lockRetries: 50,
  retryBudgetMs: 30_000,
  lockWaitMs: 2_000,
  allowNotValid: false,
  confirm: async () => true,
};
