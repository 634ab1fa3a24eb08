#!/usr/bin/env node
/**
 * `npm run sim -- --user dev@example.com --model g1 [--app …] [--script steps.yaml]`
 * Runs from source through tsx (no build step), or as dist/simulator/cli/bin.js after `npm run build`.
 */
import { runCli } from './main.js';

const code = await runCli(process.argv.slice(2));
// Exit explicitly: fetch keep-alive sockets must not hold a CI job for seconds.
process.stdout.write('', () => process.exit(code));
