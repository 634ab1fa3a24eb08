import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AppSession } from '@mentra/sdk';
import { SimulatedGlasses } from '../src/simulator/index.js';
import { connectGlasses, startCloud, type TestCloud } from './support/cloud.js';
import { eventually, serveSdkApp, type SdkAppHandle } from './support/sdk-app.js';

/**
 * The core path with real parts: the service on a loopback port, a real @mentra/sdk AppServer,
 * and the simulated glasses speaking the glasses protocol over a real socket.
 */
describe('core: glasses and an unmodified SDK app meet in a UserSession', () => {
  let cloud: TestCloud;
  const cleanups: Array<() => Promise<unknown> | unknown> = [];

  beforeAll(async () => {
    cloud = await startCloud({ APP_GRACE_MS: '300', GLASSES_GRACE_MS: '500' });
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  afterAll(async () => {
    await cloud.close();
  });

  async function glassesFor(userId: string): Promise<SimulatedGlasses> {
    return (await connectGlasses(cloud, userId, cleanups)).glasses;
  }

  async function sdkApp(
    packageName: string,
    userId: string,
    onSession: (s: AppSession) => void,
    extra: Record<string, unknown> = {},
  ): Promise<SdkAppHandle> {
    const { app } = await serveSdkApp(
      cloud,
      { packageName, permissions: [{ type: 'MICROPHONE' }], ...extra },
      [userId],
      (s) => onSession(s),
    );
    cleanups.push(() => app.close());
    return app;
  }

  it('start_app → webhook → init → a button press reaches the app, which shows a text wall on the glasses', async () => {
    const user = 'alice-smith@example.com'; // a "-" in the email: the session id suffix is stripped, not split
    await sdkApp(
      'com.example.hello',
      user,
      (session) => {
        session.events.onButtonPress((press) => {
          session.layouts.showTextWall(`Hello ${press.pressType}!`);
        });
      },
      { appType: 'standard' },
    );
    const glasses = await glassesFor(user);
    const mark = glasses.mark();
    glasses.startApp('com.example.hello');
    await glasses.waitFor('app_state_change', undefined, { since: mark });
    const summary = await eventually(
      async () => {
        const r = await cloud.admin('GET', `/api/admin/sessions/${encodeURIComponent(user)}`);
        return r.body.subscriptions?.['com.example.hello']?.includes('button_press') ? r.body : null;
      },
      5000,
      'button_press subscription',
    );
    expect(summary.runningApps).toEqual(['com.example.hello']);
    // Wait out the boot screen so the app's display is shown rather than queued.
    await glasses.waitFor('display_event', (m) => m.layout.layoutType === 'text_wall', {
      since: mark,
      timeoutMs: 4000,
    });
    glasses.pressButton('long');
    const shown = await glasses.waitForDisplay('Hello long!');
    expect(shown.packageName).toBe('com.example.hello');
    expect(shown.view).toBe('main');
  });

  it('local_transcription reaches transcription:<lang> subscribers with their own streamType', async () => {
    const user = 'bob@example.com';
    const got: Array<{ text: string; isFinal: boolean; transcribeLanguage?: string }> = [];
    await sdkApp('com.example.captions', user, (session) => {
      session.events.onTranscription((t) => got.push(t));
    });
    const glasses = await glassesFor(user);
    glasses.startApp('com.example.captions');
    await eventually(
      async () =>
        (await cloud.admin('GET', `/api/admin/sessions/${user}`)).body.subscriptions?.[
          'com.example.captions'
        ]?.includes('transcription:en-US'),
      5000,
      'transcription subscription',
    );
    glasses.sendTranscript('hello world', { isFinal: false });
    glasses.sendTranscript('hello world again', { isFinal: true });
    await eventually(() => got.length >= 2, 3000, 'two transcriptions');
    expect(got[0]).toMatchObject({ text: 'hello world', isFinal: false, transcribeLanguage: 'en-US' });
    expect(got[1]).toMatchObject({ text: 'hello world again', isFinal: true });
    expect(await glasses.waitForMic(true)).toMatchObject({ isMicrophoneEnabled: true, requiredData: ['pcm'] });
  });

  it('stop_app from the glasses sends stop_request, app_stopped and forgets the running app', async () => {
    const user = 'carol@example.com';
    const app = await sdkApp('com.example.stopper', user, (session) => session.events.onButtonPress(() => undefined));
    const glasses = await glassesFor(user);
    glasses.startApp('com.example.stopper');
    await eventually(
      async () =>
        (await cloud.admin('GET', `/api/admin/users/${user}`)).body.runningApps?.includes('com.example.stopper'),
      5000,
      'persisted running app',
    );
    glasses.stopApp('com.example.stopper');
    await eventually(() => app.stops.length === 1, 5000, 'onStop');
    expect(app.stops[0]).toMatchObject({ userId: user });
    const userView = await cloud.admin('GET', `/api/admin/users/${user}`);
    expect(userView.body.runningApps).toEqual([]);
    const s = await cloud.admin('GET', `/api/admin/sessions/${user}`);
    expect(s.body.runningApps).toEqual([]);
  });

  it('an app whose socket dies is resurrected (stop + start) after the grace period', async () => {
    const user = 'dave@example.com';
    let sessionsSeen = 0;
    const app = await sdkApp('com.example.phoenix', user, (session) => {
      sessionsSeen++;
      session.events.onButtonPress(() => session.layouts.showTextWall(`alive ${sessionsSeen}`));
    });
    const glasses = await glassesFor(user);
    glasses.startApp('com.example.phoenix');
    await eventually(() => sessionsSeen === 1, 5000, 'first session');
    await eventually(
      async () =>
        (await cloud.admin('GET', `/api/admin/sessions/${user}`)).body.subscriptions?.['com.example.phoenix']
          ?.length === 1,
      3000,
      'subscription',
    );
    // Kill the app's socket from the cloud side without a close frame: the SDK sees 1006.
    const rt = cloud.registry.get(user)!.connections.get('com.example.phoenix')!;
    rt.ws!.terminate();
    await eventually(() => sessionsSeen === 2, 8000, 'resurrected session');
    // Resurrection is stop + start: the SDK's onStop ran with the system-stop reason.
    await eventually(() => app.stops.length >= 1, 3000, 'onStop of the dead session');
    expect(app.stops[0]).toMatchObject({ userId: user, reason: 'system_stop' });
    await eventually(
      async () =>
        (await cloud.admin('GET', `/api/admin/sessions/${user}`)).body.runningApps?.includes('com.example.phoenix'),
      5000,
      'running again',
    );
  });
});
