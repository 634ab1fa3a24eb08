import { describe, expect, it } from 'vitest';
import { FakeSocket } from '../../test/support/fake-socket.js';
import { SessionContext, type SessionEvents } from './session-context.js';

function context() {
  const ctx = new SessionContext({ userId: 'user@example.com' });
  const events: Array<[keyof SessionEvents, unknown]> = [];
  ctx.on('glassesConnected', (e) => events.push(['glassesConnected', e]));
  ctx.on('glassesDisconnected', (e) => events.push(['glassesDisconnected', e]));
  return { ctx, events };
}

describe('SessionContext', () => {
  describe('glasses socket', () => {
    it('attaching makes the socket the session’s, clears disconnectedAt and emits glassesConnected', () => {
      const { ctx, events } = context();
      const glasses = new FakeSocket();
      ctx.attachGlasses(glasses.ws, false);
      expect(ctx.glasses).toBe(glasses.ws);
      expect(ctx.glassesOpen).toBe(true);
      expect(ctx.disconnectedAt).toBeNull();
      expect(events).toEqual([['glassesConnected', { reconnect: false }]]);
      expect(ctx.sendToGlasses({ type: 'ping' })).toBe(true);
      expect(glasses.json).toEqual([{ type: 'ping' }]);
    });

    it('a second connection replaces the first, which is closed with 4000', () => {
      const { ctx, events } = context();
      const first = new FakeSocket();
      const second = new FakeSocket();
      ctx.attachGlasses(first.ws, false);
      ctx.attachGlasses(second.ws, true);
      expect(first.closed).toEqual({ code: 4000, reason: 'Replaced by a newer connection' });
      expect(second.closed).toBeNull();
      expect(ctx.glasses).toBe(second.ws);
      expect(events.at(-1)).toEqual(['glassesConnected', { reconnect: true }]);
    });

    it('detaching the live socket records the time and emits glassesDisconnected with the code', () => {
      const { ctx, events } = context();
      const glasses = new FakeSocket();
      ctx.attachGlasses(glasses.ws, false);
      glasses.drop();
      expect(ctx.detachGlasses(glasses.ws, 1006)).toBe(true);
      expect(ctx.glasses).toBeNull();
      expect(ctx.disconnectedAt).toBeInstanceOf(Date);
      expect(events.at(-1)).toEqual(['glassesDisconnected', { code: 1006 }]);
      expect(ctx.sendToGlasses({ type: 'ping' })).toBe(false);
    });

    it('a replaced socket’s late close changes nothing and emits nothing', () => {
      const { ctx, events } = context();
      const first = new FakeSocket();
      const second = new FakeSocket();
      ctx.attachGlasses(first.ws, false);
      ctx.attachGlasses(second.ws, true);
      const before = events.length;
      expect(ctx.detachGlasses(first.ws, 4000)).toBe(false);
      expect(ctx.glasses).toBe(second.ws);
      expect(ctx.disconnectedAt).toBeNull();
      expect(events).toHaveLength(before);
    });
  });

  describe('disposal', () => {
    it('runs the disposers once, in reverse order, and returns the failures without throwing', async () => {
      const { ctx } = context();
      const order: number[] = [];
      ctx.defer(() => order.push(1));
      ctx.defer(() => {
        throw new Error('boom');
      });
      ctx.defer(() => order.push(3));
      const failures = await ctx.dispose();
      expect(order).toEqual([3, 1]);
      expect(failures.map((f) => (f as Error).message)).toEqual(['boom']);
      expect(await ctx.dispose()).toEqual([]);
      expect(order).toEqual([3, 1]);
      expect(ctx.isDisposed).toBe(true);
    });

    it('a method registered with its object runs with it as `this`, for listeners and disposers alike', async () => {
      const { ctx } = context();
      class Part {
        readonly seen: string[] = [];
        onModel(e: { modelName: string | null }): void {
          this.seen.push(`model ${e.modelName}`);
        }
        dispose(): void {
          this.seen.push('disposed');
        }
      }
      const part = new Part();
      ctx.on('modelChanged', part.onModel, part);
      ctx.on('modelChanged', (e) => part.seen.push(`closure ${e.modelName}`));
      ctx.defer(part.dispose, part);
      ctx.emit('modelChanged', { modelName: 'Mentra Live' });
      await ctx.dispose();
      expect(part.seen).toEqual(['model Mentra Live', 'closure Mentra Live', 'disposed']);
    });

    it('a listener that throws does not stop the others', () => {
      const { ctx } = context();
      const seen: string[] = [];
      ctx.on('modelChanged', () => {
        throw new Error('bad listener');
      });
      ctx.on('modelChanged', (e) => seen.push(String(e.modelName)));
      ctx.emit('modelChanged', { modelName: 'Even Realities G1' });
      expect(seen).toEqual(['Even Realities G1']);
    });
  });
});
