import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = join(resolve(dirname(fileURLToPath(import.meta.url)), '../..'), 'src');

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(path));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts')) out.push(path);
  }
  return out;
}

describe('WebSocket gateways', () => {
  const gateways = sourceFiles(SRC).filter((f) => readFileSync(f, 'utf8').includes('@WebSocketGateway('));

  it('finds the gateways it checks', () => {
    expect(gateways.map((f) => relative(SRC, f)).sort()).toEqual([
      'app-ws/app.gateway.ts',
      'glasses-ws/glasses.gateway.ts',
    ]);
  });

  // RealtimeWsAdapter binds no per-socket disconnect hook (it would cost every socket a closure and a once()
  // wrapper), so a gateway's handleDisconnect would never be called: each gateway handles its socket's 'close'.
  it('none implements handleDisconnect / OnGatewayDisconnect', () => {
    const offending = gateways.filter((f) => /handleDisconnect|OnGatewayDisconnect/.test(readFileSync(f, 'utf8')));
    expect(offending.map((f) => relative(SRC, f))).toEqual([]);
  });
});
