/**
 * `bench/doubles/soniox-double.mjs` is generated from `test/doubles/soniox-double.ts` by stripping the types
 * (TypeScript's transpileModule, no bundling: the source imports only `ws` and node built-ins). The spec
 * `soniox-double-copy.spec.ts` fails when the copy is stale; `UPDATE_BENCH_COPY=1 npx vitest run
 * test/doubles/soniox-double-copy.spec.ts` rewrites it.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SONIOX_SOURCE = join(ROOT, 'test', 'doubles', 'soniox-double.ts');
export const SONIOX_BENCH_COPY = join(ROOT, 'bench', 'doubles', 'soniox-double.mjs');

const HEADER = `// GENERATED from test/doubles/soniox-double.ts by test/doubles/bench-copy.ts: do not edit.
// Regenerate with: UPDATE_BENCH_COPY=1 npx vitest run test/doubles/soniox-double-copy.spec.ts
// Run: node bench/doubles/soniox-double.mjs [--port N] [--host H] [--options '<json>']
//   prints one JSON line {"ready":true,"url":…,"controlUrl":…,"port":…,"pid":…}; SIGTERM stops it.
`;

/** The plain-JavaScript ESM copy of the Soniox double. */
export function renderSonioxBenchCopy(source = readFileSync(SONIOX_SOURCE, 'utf8')): string {
  const out = ts.transpileModule(source, {
    fileName: 'soniox-double.ts',
    compilerOptions: {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ESNext,
      removeComments: false,
      useDefineForClassFields: true,
      sourceMap: false,
      inlineSourceMap: false,
    },
  });
  return HEADER + out.outputText;
}
