import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

/**
 * `npm run test:faults`: the long form of the fault suite (issue 10) and the security matrix, one file at a
 * time so the figures are not disturbed by other suites: FAULTS_LONG=1 raises the counts (fuzz 1,000,000
 * frames, soak 2,000 cycles, 1,000 audio users) and uses the real webhook retry window.
 */
export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: ['test/faults/**/*.e2e-spec.ts', 'test/security/**/*.e2e-spec.ts'],
    env: { FAULTS_LONG: '1' },
    fileParallelism: false,
    testTimeout: 1_800_000,
    hookTimeout: 300_000,
  },
});
