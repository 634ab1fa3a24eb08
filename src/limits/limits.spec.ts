import type { IncomingMessage } from 'node:http';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import { describe, expect, it } from 'vitest';
import { ClientAddress } from './client-address.js';
import { MemoryConcurrencyLimiter, RateLimiterFailures } from './memory-limiters.js';

const request = (remoteAddress: string, forwarded?: string) =>
  ({
    socket: { remoteAddress },
    headers: forwarded === undefined ? {} : { 'x-forwarded-for': forwarded },
  }) as unknown as IncomingMessage;

describe('ClientAddress', () => {
  it('without a trust function the peer address is the client, whatever the header says', () => {
    expect(new ClientAddress().of(request('10.0.0.2', '203.0.113.9'))).toBe('10.0.0.2');
  });

  it('walks X-Forwarded-For from the right while the hops are trusted, as Express does for req.ip', () => {
    const addr = new ClientAddress();
    addr.useTrust((_a, hop) => hop < 1); // TRUST_PROXY=1
    expect(addr.of(request('10.0.0.2', 'spoofed, 203.0.113.9'))).toBe('203.0.113.9');
    addr.useTrust((_a, hop) => hop < 2); // TRUST_PROXY=2
    expect(addr.of(request('10.0.0.2', 'spoofed, 203.0.113.9, 10.0.0.3'))).toBe('203.0.113.9');
    addr.useTrust((a) => a.startsWith('10.')); // a subnet
    expect(addr.of(request('10.0.0.2', '198.51.100.1, 203.0.113.9, 10.0.0.3'))).toBe('203.0.113.9');
    expect(addr.of(request('10.0.0.2', '10.0.0.4'))).toBe('10.0.0.4');
    expect(addr.of(request('10.0.0.2'))).toBe('10.0.0.2');
    expect(addr.of(request('192.0.2.1', '203.0.113.9'))).toBe('192.0.2.1');
  });
});

describe('RateLimiterFailures', () => {
  it('blocks a key once it has used its budget, leaves others alone, and does nothing when disabled', async () => {
    const limiter = new RateLimiterFailures(new RateLimiterMemory({ points: 3, duration: 60 }));
    for (let i = 0; i < 3; i++) {
      expect(await limiter.blockedForMs('a')).toBe(0);
      await limiter.recordFailure('a');
    }
    expect(await limiter.blockedForMs('a')).toBeGreaterThan(0);
    await limiter.recordFailure('a'); // over the budget: no error
    expect(await limiter.blockedForMs('b')).toBe(0);
    const off = RateLimiterFailures.inMemory(0, 60);
    for (let i = 0; i < 100; i++) await off.recordFailure('a');
    expect(await off.blockedForMs('a')).toBe(0);
  });
});

describe('MemoryConcurrencyLimiter', () => {
  it('holds at most max slots per key and forgets a key whose slots are all back', async () => {
    const limiter = new MemoryConcurrencyLimiter();
    expect(await limiter.tryAcquire('a', 2)).toBe(true);
    expect(await limiter.tryAcquire('a', 2)).toBe(true);
    expect(await limiter.tryAcquire('a', 2)).toBe(false);
    expect(await limiter.tryAcquire('b', 2)).toBe(true);
    await limiter.release('a');
    expect(await limiter.tryAcquire('a', 2)).toBe(true);
    await limiter.release('a');
    await limiter.release('a');
    await limiter.release('b');
    expect(limiter.keys).toBe(0);
  });
});
