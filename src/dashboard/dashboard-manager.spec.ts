import { Logger } from '@nestjs/common';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { AppConnections } from '../app-connections/app-connections.js';
import type { AppConfig } from '../config/config.types.js';
import { DisplayManager } from '../display/display-manager.js';
import type { AppRecord } from '../persistence/persistence.types.js';
import { SessionContext } from '../session-core/session-context.js';
import { DashboardManager } from './dashboard-manager.js';
import { appRecord as fixtureApp } from '../../test/support/app-record.js';
import { T0, useFakeClock } from '../../test/support/fake-clock.js';
import { FakeSocket } from '../../test/support/fake-socket.js';
import { viaBoundary } from '../../test/support/boundary.js';
import type { DashboardSection } from '../protocol/vocabulary.js';

const DASH = 'system.augmentos.dashboard';
const USER = 'user@example.com';

type Sent = Record<string, any>;

const appRecord = (packageName: string): AppRecord =>
  fixtureApp(packageName, { appType: packageName === DASH ? 'system_dashboard' : 'background' });

function harness() {
  const ctx = new SessionContext({ userId: USER });
  const glasses = new FakeSocket();
  ctx.attachGlasses(glasses.ws, false);
  const config = { systemDashboardPackage: DASH, emptySubscriptionGraceMs: 0 } as AppConfig;
  const connections = new AppConnections(ctx);
  const display = new DisplayManager(ctx, connections, config);
  const dashboard = new DashboardManager(ctx, display, connections, config);
  const appSent = new Map<string, Sent[]>();
  const h = {
    ctx,
    connections,
    display,
    dashboard,
    /** Every message the glasses got so far (kept). */
    allGlasses: [] as Sent[],
    /** A running app with an open socket; returns what it receives. */
    app(pkg: string): Sent[] {
      const rt = connections.create(appRecord(pkg));
      rt.state = 'running';
      const socket = new FakeSocket();
      rt.ws = socket.ws;
      const sent = socket.json;
      appSent.set(pkg, sent);
      return sent;
    },
    sentTo(pkg: string): Sent[] {
      return appSent.get(pkg)!;
    },
    /** The glasses messages since the last take. */
    take(): Sent[] {
      const out = glasses.take();
      h.allGlasses.push(...out);
      return out;
    },
    /** The one dashboard frame sent since the last take (fails when there is not exactly one). */
    frame(): Sent {
      const frames = h.take().filter((m) => m.type === 'display_event');
      expect(frames).toHaveLength(1);
      return frames[0]!;
    },
    sys(section: string, content: string) {
      expect(dashboard.systemUpdate(DASH, section as DashboardSection, content)).toEqual({ ok: true });
    },
  };
  return h;
}

describe('DashboardManager', () => {
  beforeAll(() => Logger.overrideLogger(false));
  useFakeClock(T0);

  describe('main-mode render', () => {
    it('is a double_text_wall from the dashboard package on the dashboard view, with no duration', () => {
      const h = harness();
      h.sys('topLeft', '10:42');
      const f = h.frame();
      expect(f).toMatchObject({
        type: 'display_event',
        packageName: DASH,
        view: 'dashboard',
        layout: { layoutType: 'double_text_wall' },
      });
      expect(f).not.toHaveProperty('durationMs');
    });

    it('topText is topLeft alone, or topLeft + "\\n" + bottomLeft when bottomLeft is set', () => {
      const h = harness();
      h.sys('topLeft', '10:42');
      expect(h.frame().layout.topText).toBe('10:42');
      h.sys('bottomLeft', '2 notifications');
      expect(h.frame().layout.topText).toBe('10:42\n2 notifications');
    });

    it('bottomText is topRight + "\\n" + appText without bottomRight', () => {
      const h = harness();
      h.app('com.a');
      h.sys('topRight', '87%');
      expect(h.frame().layout).toEqual({ layoutType: 'double_text_wall', topText: '', bottomText: '87%\n' });
      h.dashboard.contentUpdate('com.a', 'item A', ['main']);
      expect(h.frame().layout).toEqual({ layoutType: 'double_text_wall', topText: '', bottomText: '87%\nitem A' });
    });

    it('bottomText is topRight + "\\n" + bottomRight + "\\n\\n" + appText with bottomRight', () => {
      const h = harness();
      h.app('com.a');
      h.sys('topLeft', '10:42');
      h.sys('bottomLeft', 'BL');
      h.sys('topRight', '87%');
      h.sys('bottomRight', 'Sunny');
      h.take();
      h.dashboard.contentUpdate('com.a', 'item A', ['main']);
      expect(h.frame().layout).toEqual({
        layoutType: 'double_text_wall',
        topText: '10:42\nBL',
        bottomText: '87%\nSunny\n\nitem A',
      });
      // and with no app item
      h.ctx.emit('appStopped', { packageName: 'com.a', reason: 'user_disabled' });
      expect(h.frame().layout).toEqual({
        layoutType: 'double_text_wall',
        topText: '10:42\nBL',
        bottomText: '87%\nSunny\n\n',
      });
    });

    it('an app layout is turned into text as the table says', () => {
      const h = harness();
      h.app('com.a');
      const cases: [Record<string, unknown>, string][] = [
        [{ layoutType: 'text_wall', text: 'wall' }, 'wall'],
        [{ layoutType: 'double_text_wall', topText: 'top', bottomText: 'bottom' }, 'top\nbottom'],
        [{ layoutType: 'dashboard_card', leftText: 'left', rightText: 'right' }, 'left | right'],
        [{ layoutType: 'reference_card', title: 'Title', text: 'body' }, 'Title\nbody'],
      ];
      for (const [layout, text] of cases) {
        expect(h.dashboard.contentUpdate('com.a', layout, ['main'])).toEqual({ ok: true });
        expect(h.frame().layout.bottomText).toBe(`\n${text}`);
      }
    });

    it('content that is neither text nor a layout is refused and changes nothing', () => {
      const h = harness();
      h.app('com.a');
      expect(
        viaBoundary('dashboard_content_update', { content: 42, modes: ['main'] }, (m) =>
          h.dashboard.contentUpdate('com.a', m.content, m.modes),
        ),
      ).toMatchObject({
        ok: false,
        code: 'MALFORMED_MESSAGE',
      });
      expect(
        viaBoundary('dashboard_content_update', { content: 'x', modes: ['sideways'] }, (m) =>
          h.dashboard.contentUpdate('com.a', m.content, m.modes),
        ),
      ).toMatchObject({
        ok: false,
        code: 'MALFORMED_MESSAGE',
      });
      expect(h.take()).toEqual([]);
      expect(h.dashboard.describe().main).toEqual({});
    });
  });

  describe('expanded render', () => {
    it('is a text_wall "topLeft | topRight\\nNo expanded content available" when no app wrote expanded content', () => {
      const h = harness();
      h.sys('topLeft', '10:42');
      h.sys('topRight', '87%');
      h.take();
      expect(h.dashboard.modeChange(DASH, 'expanded')).toEqual({ ok: true });
      const f = h.frame();
      expect(f).toMatchObject({ packageName: DASH, view: 'dashboard' });
      expect(f.layout).toEqual({ layoutType: 'text_wall', text: '10:42 | 87%\nNo expanded content available' });
    });

    it('shows the newest expanded content of any app', () => {
      const h = harness();
      h.app('com.a');
      h.app('com.b');
      h.sys('topLeft', 'TL');
      h.sys('topRight', 'TR');
      h.dashboard.modeChange(DASH, 'expanded');
      h.take();
      h.dashboard.contentUpdate('com.a', 'A expanded', ['expanded']);
      expect(h.frame().layout.text).toBe('TL | TR\nA expanded');
      vi.advanceTimersByTime(10);
      h.dashboard.contentUpdate('com.b', 'B expanded', ['expanded']);
      expect(h.frame().layout.text).toBe('TL | TR\nB expanded');
      vi.advanceTimersByTime(10);
      h.dashboard.contentUpdate('com.a', 'A again', ['expanded']);
      expect(h.frame().layout.text).toBe('TL | TR\nA again');
    });
  });

  describe('who may write', () => {
    it('only the system dashboard package may write a section: others get PERMISSION_DENIED and nothing changes', () => {
      const h = harness();
      h.app('com.a');
      h.sys('topLeft', 'mine');
      h.take();
      const before = h.dashboard.describe();
      expect(h.dashboard.systemUpdate('com.a', 'topLeft', 'hacked')).toMatchObject({
        ok: false,
        code: 'PERMISSION_DENIED',
      });
      expect(h.dashboard.systemUpdate('com.a', 'bottomRight', 'hacked')).toMatchObject({
        ok: false,
        code: 'PERMISSION_DENIED',
      });
      expect(h.dashboard.describe()).toEqual(before);
      expect(h.take()).toEqual([]);
    });

    it('only the system dashboard package may change the mode: others get PERMISSION_DENIED, no render, no broadcast', () => {
      const h = harness();
      const a = h.app('com.a');
      expect(h.dashboard.modeChange('com.a', 'expanded')).toMatchObject({ ok: false, code: 'PERMISSION_DENIED' });
      expect(h.dashboard.currentMode).toBe('main');
      expect(h.take()).toEqual([]);
      expect(a).toEqual([]);
    });

    it('the dashboard package is held to the known sections and modes', () => {
      const h = harness();
      const system = (section: unknown, content: unknown) =>
        viaBoundary('dashboard_system_update', { section, content }, (m) =>
          h.dashboard.systemUpdate(DASH, m.section, m.content),
        );
      expect(system('middle', 'x')).toMatchObject({ ok: false, code: 'MALFORMED_MESSAGE' });
      expect(system('topLeft', 5)).toMatchObject({ ok: false, code: 'MALFORMED_MESSAGE' });
      expect(
        viaBoundary('dashboard_mode_change', { mode: 'always_on' }, (m) => h.dashboard.modeChange(DASH, m.mode)),
      ).toMatchObject({ ok: false, code: 'MALFORMED_MESSAGE' });
      expect(h.dashboard.currentMode).toBe('main');
      expect(h.take()).toEqual([]);
    });
  });

  describe('per-app content', () => {
    it('is kept per mode: main content does not show in expanded and the other way round', () => {
      const h = harness();
      h.app('com.a');
      h.dashboard.contentUpdate('com.a', 'main only', ['main']);
      h.dashboard.contentUpdate('com.a', 'expanded only', ['expanded']);
      expect(h.dashboard.describe()).toMatchObject({
        main: { 'com.a': 'main only' },
        expanded: { 'com.a': 'expanded only' },
      });
      h.take();
      h.dashboard.modeChange(DASH, 'expanded');
      expect(h.frame().layout.text).toBe(' | \nexpanded only');
      h.dashboard.modeChange(DASH, 'main');
      expect(h.frame().layout.bottomText).toBe('\nmain only');
    });

    it('one write may target both modes', () => {
      const h = harness();
      h.app('com.a');
      h.dashboard.contentUpdate('com.a', 'both', ['main', 'expanded']);
      expect(h.dashboard.describe()).toMatchObject({ main: { 'com.a': 'both' }, expanded: { 'com.a': 'both' } });
    });

    it('modes default to main', () => {
      const h = harness();
      h.app('com.a');
      viaBoundary('dashboard_content_update', { content: 'default' }, (m) =>
        h.dashboard.contentUpdate('com.a', m.content, m.modes),
      );
      expect(h.dashboard.describe()).toMatchObject({ main: { 'com.a': 'default' }, expanded: {} });
    });

    it('the newest write of an app wins', () => {
      const h = harness();
      h.app('com.a');
      h.dashboard.contentUpdate('com.a', 'first', ['main']);
      expect(h.frame().layout.bottomText).toBe('\nfirst');
      h.dashboard.contentUpdate('com.a', 'second', ['main']);
      expect(h.frame().layout.bottomText).toBe('\nsecond');
      expect(h.dashboard.describe().main).toEqual({ 'com.a': 'second' });
    });

    it('re-renders only when the current mode is among the written modes', () => {
      const h = harness();
      h.app('com.a');
      h.take();
      h.dashboard.contentUpdate('com.a', 'later', ['expanded']);
      expect(h.take()).toEqual([]);
      h.dashboard.contentUpdate('com.a', 'now', ['main']);
      expect(h.frame().layout.bottomText).toBe('\nnow');
    });

    it('always_on-only writes are ignored without an error', () => {
      const h = harness();
      h.app('com.a');
      expect(h.dashboard.contentUpdate('com.a', 'x', ['always_on'])).toEqual({ ok: true });
      expect(h.take()).toEqual([]);
      expect(h.dashboard.describe()).toMatchObject({ main: {}, expanded: {} });
    });
  });

  describe('head-up rotation', () => {
    function threeItems() {
      const h = harness();
      for (const [pkg, text] of [
        ['com.a', 'A'],
        ['com.b', 'B'],
        ['com.c', 'C'],
      ] as const) {
        h.app(pkg);
        h.dashboard.contentUpdate(pkg, text, ['main']);
        vi.advanceTimersByTime(1);
      }
      h.take();
      return h;
    }
    const appText = (f: Sent) => String(f.layout.bottomText).slice(1);

    it('starts at the newest item and advances through the items newest first, wrapping', () => {
      const h = threeItems();
      h.dashboard.render();
      expect(appText(h.frame())).toBe('C');
      const seen: string[] = [];
      for (let i = 0; i < 4; i++) {
        h.dashboard.onHeadUp();
        seen.push(appText(h.frame()));
      }
      expect(seen).toEqual(['B', 'A', 'C', 'B']);
    });

    it('does nothing with one item or none', () => {
      const h = harness();
      h.dashboard.onHeadUp();
      expect(h.take()).toEqual([]);
      h.app('com.a');
      h.dashboard.contentUpdate('com.a', 'only', ['main']);
      h.take();
      h.dashboard.onHeadUp();
      expect(h.take()).toEqual([]);
    });

    it('does nothing in expanded mode', () => {
      const h = threeItems();
      h.dashboard.modeChange(DASH, 'expanded');
      h.take();
      h.dashboard.onHeadUp();
      expect(h.take()).toEqual([]);
      h.dashboard.modeChange(DASH, 'main');
      expect(appText(h.frame())).toBe('C');
    });
  });

  describe('dashboard_mode_changed', () => {
    it('goes to every connected app on a mode change, the dashboard app included', () => {
      const h = harness();
      const dash = h.app(DASH);
      const a = h.app('com.a');
      const b = h.app('com.b');
      h.dashboard.modeChange(DASH, 'expanded');
      for (const [pkg, sent] of [
        [DASH, dash],
        ['com.a', a],
        ['com.b', b],
      ] as const) {
        expect(sent).toHaveLength(1);
        expect(sent[0]).toMatchObject({
          type: 'dashboard_mode_changed',
          mode: 'expanded',
          sessionId: `${USER}-${pkg}`,
        });
        expect(typeof sent[0]!.timestamp).toBe('string');
      }
    });

    it('goes to an app when it starts running, with the current mode', () => {
      const h = harness();
      h.dashboard.modeChange(DASH, 'expanded');
      const late = h.app('com.late');
      expect(late).toEqual([]);
      h.ctx.emit('appRunning', { packageName: 'com.late', app: appRecord('com.late'), reconnect: false });
      expect(late).toEqual([
        expect.objectContaining({ type: 'dashboard_mode_changed', mode: 'expanded', sessionId: `${USER}-com.late` }),
      ]);
    });
  });

  describe('cleanup when an app stops', () => {
    it('removes its content in both modes and re-renders without it', () => {
      const h = harness();
      h.app('com.a');
      h.app('com.b');
      h.dashboard.contentUpdate('com.a', 'A main', ['main']);
      h.dashboard.contentUpdate('com.a', 'A expanded', ['expanded']);
      vi.advanceTimersByTime(1);
      h.dashboard.contentUpdate('com.b', 'B main', ['main']);
      h.take();
      h.ctx.emit('appStopped', { packageName: 'com.b', reason: 'user_disabled' });
      expect(h.frame().layout.bottomText).toBe('\nA main');
      h.ctx.emit('appStopped', { packageName: 'com.a', reason: 'user_disabled' });
      expect(h.frame().layout.bottomText).toBe('\n');
      expect(h.dashboard.describe()).toMatchObject({ main: {}, expanded: {} });
    });

    it('an app with expanded content only is cleaned up and re-rendered too', () => {
      const h = harness();
      h.app('com.a');
      h.dashboard.modeChange(DASH, 'expanded');
      h.dashboard.contentUpdate('com.a', 'A expanded', ['expanded']);
      h.take();
      h.ctx.emit('appStopped', { packageName: 'com.a', reason: 'user_disabled' });
      expect(h.frame().layout.text).toBe(' | \nNo expanded content available');
    });

    it('fixes the rotation index: the item shown after the stop is still one of the remaining items, and rotation continues from the start', () => {
      const h = harness();
      for (const [pkg, text] of [
        ['com.a', 'A'],
        ['com.b', 'B'],
        ['com.c', 'C'],
      ] as const) {
        h.app(pkg);
        h.dashboard.contentUpdate(pkg, text, ['main']);
        vi.advanceTimersByTime(1);
      }
      h.dashboard.onHeadUp();
      h.dashboard.onHeadUp();
      expect(h.take().at(-1)!.layout.bottomText).toBe('\nA');
      // The shown item (index 2) goes: out of range, back to the newest.
      h.ctx.emit('appStopped', { packageName: 'com.a', reason: 'user_disabled' });
      expect(h.frame().layout.bottomText).toBe('\nC');
      h.dashboard.onHeadUp();
      expect(h.frame().layout.bottomText).toBe('\nB');
    });

    it('an app without dashboard content stopping renders nothing', () => {
      const h = harness();
      h.app('com.a');
      h.dashboard.contentUpdate('com.a', 'A', ['main']);
      h.take();
      h.ctx.emit('appStopped', { packageName: 'com.none', reason: 'user_disabled' });
      expect(h.take()).toEqual([]);
    });
  });

  it('renders go to the dashboard view only, never the main view', () => {
    const h = harness();
    h.app('com.a');
    h.app('com.b');
    h.sys('topLeft', 'TL');
    h.dashboard.contentUpdate('com.a', 'A', ['main', 'expanded']);
    h.dashboard.contentUpdate('com.b', { layoutType: 'text_wall', text: 'B' }, ['main']);
    h.dashboard.onHeadUp();
    h.dashboard.modeChange(DASH, 'expanded');
    h.dashboard.modeChange(DASH, 'main');
    h.ctx.emit('appStopped', { packageName: 'com.b', reason: 'user_disabled' });
    h.take();
    const frames = h.allGlasses.filter((m) => m.type === 'display_event');
    expect(frames.length).toBeGreaterThanOrEqual(6);
    expect(frames.every((m) => m.view === 'dashboard' && m.packageName === DASH)).toBe(true);
    expect(h.display.currentMain).toBeNull();
    expect(h.display.describe().dashboard).toEqual(frames.at(-1));
  });

  it('dispose clears the content and leaves no timers', async () => {
    const h = harness();
    h.app('com.a');
    h.dashboard.contentUpdate('com.a', 'A', ['main', 'expanded']);
    h.ctx.emit('appStarting', { packageName: 'com.a', app: appRecord('com.a') });
    expect(vi.getTimerCount()).toBeGreaterThan(0);
    await h.ctx.dispose();
    expect(vi.getTimerCount()).toBe(0);
    expect(h.dashboard.describe()).toMatchObject({ main: {}, expanded: {} });
  });
});
