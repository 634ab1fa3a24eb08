import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, startFlags } from './faults/support.js';

/**
 * The service's node flags live in `npm start` (README, Operations: "Node flags"); the image must run the same
 * command line, and the fault suite and the benchmark read them from there.
 */
describe('start command', () => {
  it('the Dockerfile runs what npm start runs, with the young-generation size the service is measured with', () => {
    const flags = startFlags();
    expect(flags).toContain('--max-semi-space-size=64');
    const cmd = /^CMD\s+(\[.*\])\s*$/m.exec(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
    expect(cmd, 'Dockerfile has an exec-form CMD').not.toBeNull();
    expect(JSON.parse(cmd![1]!)).toEqual(['node', ...flags, 'dist/main.js']);
  });
});
