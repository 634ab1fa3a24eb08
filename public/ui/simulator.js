// /simulator: simulated glasses in a browser tab. Speaks /glasses-ws itself (GlassesClient),
// draws the display (GlassesDisplay), streams the microphone as 16 kHz PCM (mic-worklet.js) and
// starts / stops apps through the admin API, or through the link API when opened from a link.

import { $, api, ApiError, auth, h, loadMeta, seg, timeAgo } from './common.js';
import { GlassesDisplay, layoutText } from './display-renderer.js';
import { GlassesClient } from './glasses-client.js';

const MAX_LOG = 500;

const sim = {
  meta: null,
  model: null,
  client: null,
  display: null,
  headUp: false,
  shownKey: null,
  userId: '',
  link: null,
  mic: null,
  /** Counters the tests and the log read. */
  stats: { audioBytesSent: 0, audioFramesSent: 0, micInputRate: 0, received: 0, sent: 0 },
  pendingAudio: { bytes: 0, frames: 0 },
};
window.simulator = sim;

// ---------------------------------------------------------------------------
// Start-up and sign-in
// ---------------------------------------------------------------------------

async function init() {
  auth.takeLinkFromUrl();
  sim.display = new GlassesDisplay($('#lens'));
  sim.meta = await loadMeta();
  const params = new URLSearchParams(location.search);
  fillModels(params.get('model'));
  if (params.get('user')) $('#user-id').value = params.get('user');
  wire();
  setInterval(flushAudioLog, 1000);
  setInterval(() => {
    if (sim.client && sim.client.isOpen) refreshApps().catch(() => undefined);
  }, 5000);
  if (!auth.mode) return showSignIn();
  await enter();
}

function fillModels(wanted) {
  const select = $('#model');
  select.replaceChildren(
    ...sim.meta.models.map((m) =>
      h('option', { value: m.name }, `${m.name}${m.aliases.length ? ` (${m.aliases[0]})` : ''}`),
    ),
  );
  const w = (wanted || '').toLowerCase();
  const found = sim.meta.models.find((m) => m.name.toLowerCase() === w || m.aliases.includes(w));
  select.value = (found || sim.meta.models.find((m) => m.name === sim.meta.defaultModel)).name;
  applyModel(select.value);
}

function showSignIn(error = '') {
  $('#signin').hidden = false;
  $('#app').hidden = true;
  $('#sign-out').hidden = true;
  $('#auth-info').textContent = '';
  $('#signin-error').textContent = error;
  $('#admin-key').focus();
}

async function enter() {
  try {
    if (auth.mode === 'link') {
      sim.link = await api('GET', '/api/simulator/link', undefined, 'Opening the simulator link');
      $('#user-id').value = sim.link.userId;
      $('#user-id').readOnly = true;
      $('#model').value = sim.link.model;
      applyModel(sim.link.model);
      $('#auth-info').textContent =
        `link for ${sim.link.userId}, valid until ${new Date(sim.link.expiresAt).toLocaleTimeString()}`;
    } else {
      await api('GET', '/api/admin/apps', undefined, 'Checking the admin key');
      $('#auth-info').textContent = 'admin';
    }
  } catch (err) {
    const wasLink = auth.mode === 'link';
    auth.signOut();
    sim.link = null;
    if (!(err instanceof ApiError) || err.status !== 401) return showSignIn(err.message);
    return showSignIn(
      wasLink
        ? 'This simulator link is invalid or has expired: sign in with the admin key or ask for a new link.'
        : 'The cloud refused this admin API key (401).',
    );
  }
  $('#signin').hidden = true;
  $('#app').hidden = false;
  $('#sign-out').hidden = false;
  sim.userId = $('#user-id').value.trim();
  await refreshApps().catch(showAppsError);
  if (auth.mode === 'link') connect();
}

// ---------------------------------------------------------------------------
// Wiring
// ---------------------------------------------------------------------------

function wire() {
  $('#signin-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const key = $('#admin-key').value.trim();
    if (!key) return;
    auth.setAdminKey(key);
    $('#admin-key').value = '';
    await enter();
  });
  $('#sign-out').addEventListener('click', () => {
    disconnect();
    auth.signOut();
    sim.link = null;
    $('#user-id').readOnly = false;
    showSignIn();
  });
  $('#connect').addEventListener('click', () => connect());
  $('#disconnect').addEventListener('click', () => disconnect());
  $('#model').addEventListener('change', () => {
    applyModel($('#model').value);
    if (sim.client && sim.client.isOpen) {
      sim.client.setModel(sim.model);
      setTimeout(() => refreshApps().catch(showAppsError), 300);
    }
  });
  $('#user-id').addEventListener('change', () => {
    sim.userId = $('#user-id').value.trim();
    refreshApps().catch(showAppsError);
  });
  $('#btn-short').addEventListener('click', () => act(() => sim.client.pressButton('short')));
  $('#btn-long').addEventListener('click', () => act(() => sim.client.pressButton('long')));
  $('#head').addEventListener('click', () =>
    act(() => {
      sim.headUp = !sim.headUp;
      sim.client.headPosition(sim.headUp ? 'up' : 'down');
      $('#head').setAttribute('aria-pressed', String(sim.headUp));
      $('#head').textContent = sim.headUp ? 'Head down' : 'Head up';
      render();
    }),
  );
  $('#mic').addEventListener('click', () => (sim.mic ? stopMic() : startMic()));
  $('#speech-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const text = $('#speech-text').value.trim();
    if (!text) return;
    act(() => {
      sim.client.transcript(text, $('#speech-final').checked);
      $('#speech-text').value = '';
    });
  });
  $('#send-location').addEventListener('click', () =>
    act(() => sim.client.setLocation(Number($('#lat').value), Number($('#lng').value), 10)),
  );
  $('#send-battery').addEventListener('click', () =>
    act(() => sim.client.battery(Math.max(0, Math.min(100, Number($('#battery').value))), $('#charging').checked)),
  );
  $('#send-notif').addEventListener('click', () =>
    act(() => sim.client.notification($('#notif-title').value, $('#notif-content').value)),
  );
  $('#apps-refresh').addEventListener('click', () => refreshApps().catch(showAppsError));
  $('#log-clear').addEventListener('click', () => $('#log').replaceChildren());
  $('#log').addEventListener('click', (ev) => {
    const li = ev.target.closest('li');
    if (!li) return;
    li.classList.toggle('open');
    const full = li.classList.contains('open');
    li.querySelector('.j').textContent = full ? JSON.stringify(li._msg, null, 2) : summarize(li._msg);
  });
}

function act(fn) {
  try {
    fn();
    $('#setup-error').textContent = '';
  } catch (err) {
    $('#setup-error').textContent = err.message;
  }
}

function applyModel(name) {
  sim.model = sim.meta.models.find((m) => m.name === name) || sim.meta.models[0];
  sim.display.setDisplay(sim.model.display);
  sim.shownKey = null;
  const d = sim.model.display;
  $('#lens-res').textContent = d ? `${d.width}×${d.height} · ${d.maxTextLines} lines · ${d.color}` : 'no display';
  $('#gestures').replaceChildren(
    ...sim.model.touchGestures.map((g) =>
      h(
        'button',
        {
          class: 'gesture',
          disabled: !(sim.client && sim.client.isOpen),
          onclick: () => act(() => sim.client.touch(g)),
        },
        g.toLowerCase().replace(/_/g, ' '),
      ),
    ),
  );
  render();
}

// ---------------------------------------------------------------------------
// Connection
// ---------------------------------------------------------------------------

async function connect() {
  disconnect();
  sim.userId = $('#user-id').value.trim();
  if (!sim.userId) return ($('#setup-error').textContent = 'Enter a user id (an email)');
  setStatus('connecting…', 'warn');
  $('#setup-error').textContent = '';
  let token;
  try {
    token =
      auth.mode === 'link'
        ? (await api('POST', '/api/simulator/link/token', undefined, 'Getting a core token')).coreToken
        : (await api('POST', `/api/admin/users/${seg(sim.userId)}/token`, undefined, 'Getting a core token')).coreToken;
  } catch (err) {
    setStatus('disconnected', 'bad');
    $('#setup-error').textContent = err.message;
    return;
  }
  const client = new GlassesClient({ token, model: sim.model });
  sim.client = client;
  sim.headUp = false;
  client.addEventListener('message', (ev) => {
    sim.stats.received++;
    log('in', ev.detail);
    if (ev.detail.type === 'app_state_change') refreshApps().catch(showAppsError);
  });
  client.addEventListener('sent', (ev) => {
    sim.stats.sent++;
    log('out', ev.detail);
  });
  client.addEventListener('audio-sent', (ev) => {
    sim.stats.audioBytesSent += ev.detail;
    sim.stats.audioFramesSent++;
    sim.pendingAudio.bytes += ev.detail;
    sim.pendingAudio.frames++;
  });
  client.addEventListener('state', () => render());
  client.addEventListener('close', (ev) => {
    if (client !== sim.client) return;
    stopMic();
    setStatus(`disconnected (${ev.detail.code}${ev.detail.reason ? ` ${ev.detail.reason}` : ''})`, 'bad');
    log('sys', { type: 'socket closed', code: ev.detail.code, reason: ev.detail.reason });
    enableControls(false);
  });
  try {
    const ack = await client.connect();
    setStatus(`connected · ${sim.model.name}`, 'ok');
    log('sys', { type: 'connected', sessionId: ack.sessionId, model: sim.model.name });
    enableControls(true);
    render();
    await refreshApps().catch(showAppsError);
  } catch (err) {
    if (client === sim.client) {
      setStatus('disconnected', 'bad');
      $('#setup-error').textContent = `Could not connect: ${err.message}`;
    }
  }
}

function disconnect() {
  stopMic();
  if (sim.client) {
    const c = sim.client;
    sim.client = null;
    c.close();
    setStatus('disconnected', '');
    log('sys', { type: 'disconnected by you' });
  }
  enableControls(false);
  render();
}

function setStatus(text, kind) {
  const el = $('#conn-status');
  el.textContent = text;
  el.className = `pill ${kind || ''}`;
}

function enableControls(on) {
  for (const id of [
    '#btn-short',
    '#btn-long',
    '#head',
    '#mic',
    '#speech-text',
    '#speech-send',
    '#send-location',
    '#send-battery',
    '#send-notif',
    '#disconnect',
  ])
    $(id).disabled = !on;
  for (const b of document.querySelectorAll('#gestures button')) b.disabled = !on;
  $('#connect').disabled = false;
  $('#mic').disabled = !on || !sim.model.hasMicrophone;
  $('#btn-short').title = sim.model.hasButton ? '' : `${sim.model.name} has no button; the press is sent anyway`;
}

// ---------------------------------------------------------------------------
// Display
// ---------------------------------------------------------------------------

function render() {
  const st = sim.client ? sim.client.state : null;
  const main = st ? st.display.main : null;
  const dash = st ? st.display.dashboard : null;
  const view = sim.headUp ? dash : main;
  const key = JSON.stringify([sim.model.name, sim.headUp, view ? view.layout : null]);
  if (key !== sim.shownKey) {
    sim.shownKey = key;
    sim.display.show(view ? view.layout : null);
  }
  $('#lens-view').textContent = sim.headUp ? 'dashboard (head up)' : 'main view';
  $('#main-text').textContent = main ? layoutText(main.layout) : '';
  $('#main-owner').textContent = main && main.packageName ? `· ${main.packageName}` : '';
  $('#dash-text').textContent = dash ? layoutText(dash.layout) : '';
  const micOn = !!(st && st.micEnabled);
  const pill = $('#mic-state');
  pill.textContent = `cloud mic: ${micOn ? 'on' : 'off'}${micOn && st.requiredData.length ? ` (${st.requiredData.join(', ')})` : ''}`;
  pill.className = `pill ${micOn ? 'ok' : ''}`;
}

// ---------------------------------------------------------------------------
// Microphone
// ---------------------------------------------------------------------------

async function startMic() {
  if (!sim.client || !sim.client.isOpen) return;
  if (!navigator.mediaDevices || !window.AudioWorkletNode) {
    $('#mic-info').textContent = 'The microphone needs a secure context (https or localhost) and AudioWorklet support.';
    return;
  }
  $('#mic').setAttribute('aria-pressed', 'true');
  try {
    const stream = await navigator.mediaDevices.getUserMedia({
      audio: { channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: false },
    });
    const ctx = new AudioContext();
    await ctx.audioWorklet.addModule('/ui/mic-worklet.js');
    const source = ctx.createMediaStreamSource(stream);
    const node = new AudioWorkletNode(ctx, 'pcm16k-capture', {
      processorOptions: { targetRate: 16000, frameSamples: 1600 },
    });
    const mute = ctx.createGain();
    mute.gain.value = 0;
    source.connect(node);
    node.connect(mute).connect(ctx.destination);
    node.port.onmessage = (ev) => {
      const m = ev.data;
      if (m.type === 'started') sim.stats.micInputRate = m.inputRate;
      if (m.type !== 'pcm') return;
      $('#mic-level').value = m.peak;
      if (sim.client) sim.client.sendAudio(m.pcm);
    };
    if (ctx.state === 'suspended') await ctx.resume();
    sim.mic = { stream, ctx, node };
    sim.client.vad(true);
    const label = stream.getAudioTracks()[0]?.label || 'microphone';
    $('#mic-info').textContent =
      `Streaming ${label}: ${ctx.sampleRate} Hz → 16 kHz mono PCM, 100 ms frames.${sim.client.state.micEnabled ? '' : ' No app has asked for audio yet (cloud mic off): frames are sent anyway.'}`;
  } catch (err) {
    $('#mic').setAttribute('aria-pressed', 'false');
    $('#mic-info').textContent = `Microphone unavailable: ${err.message}`;
  }
}

function stopMic() {
  const m = sim.mic;
  if (!m) return;
  sim.mic = null;
  m.node.port.onmessage = null;
  m.stream.getTracks().forEach((t) => t.stop());
  m.ctx.close().catch(() => undefined);
  if (sim.client && sim.client.isOpen) sim.client.vad(false);
  $('#mic').setAttribute('aria-pressed', 'false');
  $('#mic-level').value = 0;
  $('#mic-info').textContent = '';
}

// ---------------------------------------------------------------------------
// Apps
// ---------------------------------------------------------------------------

async function loadAppsView() {
  if (auth.mode === 'link') {
    const v = await api('GET', '/api/simulator/link/apps', undefined, 'Listing apps');
    return { apps: v.installed.map((a) => ({ ...a, installed: true })), session: v.session };
  }
  const uid = seg(sim.userId);
  const [apps, user, session] = await Promise.all([
    api('GET', '/api/admin/apps', undefined, 'Listing apps'),
    api('GET', `/api/admin/users/${uid}`).catch((e) => (e.status === 404 ? null : Promise.reject(e))),
    api('GET', `/api/admin/sessions/${uid}`).catch((e) => (e.status === 404 ? null : Promise.reject(e))),
  ]);
  const installed = new Set((user ? user.installedApps : []).map((a) => a.packageName));
  return {
    apps: apps.map((a) => ({
      packageName: a.packageName,
      name: a.name,
      appType: a.appType,
      installed: installed.has(a.packageName),
    })),
    session,
  };
}

async function refreshApps() {
  if (!sim.userId) return;
  const { apps, session } = await loadAppsView();
  $('#apps-error').textContent = '';
  const connected = !!(sim.client && sim.client.isOpen);
  const rows = apps.map((app) => {
    const running = session ? session.runningApps.includes(app.packageName) : false;
    const loading = session ? session.loadingApps.includes(app.packageName) : false;
    const info = session ? session.apps.find((a) => a.packageName === app.packageName) : null;
    const last = info && info.lastStart;
    const state = running
      ? h('span', { class: 'ok' }, 'running')
      : loading
        ? h('span', { class: 'muted' }, 'starting…')
        : app.installed
          ? h('span', { class: 'muted' }, 'stopped')
          : h('span', { class: 'muted' }, 'not installed');
    const lastCell = last
      ? last.ok
        ? h('span', { class: 'ok', title: last.at }, `ok · ${timeAgo(last.at)}`)
        : h(
            'span',
            { class: 'bad', title: last.message || '' },
            h('span', { class: 'stage' }, last.stage || 'failed'),
            ` · ${timeAgo(last.at)}`,
            h('div', { class: 'sub' }, last.message || ''),
          )
      : h('span', { class: 'muted' }, '—');
    let action;
    if (!app.installed) action = h('button', { onclick: () => appAction('install', app.packageName) }, 'Install');
    else if (running || loading)
      action = h(
        'button',
        {
          class: 'danger',
          onclick: () => appAction('stop', app.packageName),
          dataset: { testid: `stop-${app.packageName}` },
        },
        'Stop',
      );
    else
      action = h(
        'button',
        {
          class: 'primary',
          disabled: !connected,
          title: connected ? '' : 'Connect the glasses first',
          onclick: () => appAction('start', app.packageName),
          dataset: { testid: `start-${app.packageName}` },
        },
        'Start',
      );
    return h(
      'tr',
      { dataset: { app: app.packageName } },
      h('td', {}, app.name, h('div', { class: 'sub mono' }, app.packageName)),
      h('td', {}, state, h('div', { class: 'sub' }, app.appType)),
      h('td', {}, lastCell),
      h('td', { class: 'actions' }, action),
    );
  });
  $('#apps').replaceChildren(
    ...(rows.length
      ? rows
      : [
          h(
            'tr',
            {},
            h(
              'td',
              { colspan: 4, class: 'muted' },
              auth.mode === 'link'
                ? 'No apps installed for this user.'
                : 'No apps registered yet: register one in the developer console.',
            ),
          ),
        ]),
  );
}

async function appAction(action, pkg) {
  $('#apps-error').textContent = '';
  const base =
    auth.mode === 'link'
      ? `/api/simulator/link/apps/${seg(pkg)}`
      : `/api/admin/sessions/${seg(sim.userId)}/apps/${seg(pkg)}`;
  try {
    if (action === 'install')
      await api('PUT', `/api/admin/users/${seg(sim.userId)}/apps/${seg(pkg)}`, undefined, `Installing ${pkg}`);
    else {
      const pending = api(
        'POST',
        `${base}/${action}`,
        undefined,
        `${action === 'start' ? 'Starting' : 'Stopping'} ${pkg}`,
      );
      refreshApps().catch(() => undefined);
      await pending;
    }
  } catch (err) {
    const stage = err instanceof ApiError ? err.stage : undefined;
    $('#apps-error').textContent = stage ? `${pkg} failed at stage ${stage}: ${err.body.message}` : err.message;
  }
  await refreshApps().catch(showAppsError);
}

function showAppsError(err) {
  $('#apps-error').textContent = err.message;
}

// ---------------------------------------------------------------------------
// Message log
// ---------------------------------------------------------------------------

function summarize(msg) {
  const { type: _t, timestamp: _ts, ...rest } = msg;
  const s = JSON.stringify(rest);
  return s.length > 400 ? `${s.slice(0, 400)}…` : s;
}

function log(dir, msg) {
  if ($('#log-pause').checked) return;
  if ((msg.type === 'ping' || msg.type === 'pong') && !$('#log-pings').checked) return;
  const list = $('#log');
  const arrow = dir === 'in' ? '↓' : dir === 'out' ? '↑' : '•';
  const li = h(
    'li',
    { class: dir },
    h('span', { class: 't' }, new Date().toLocaleTimeString()),
    h('span', { class: 'd' }, arrow),
    h('span', { class: 'ty' }, msg.type),
    h('span', { class: 'j' }, summarize(msg)),
  );
  li._msg = msg;
  const atBottom = list.scrollTop + list.clientHeight >= list.scrollHeight - 20;
  list.append(li);
  while (list.childElementCount > MAX_LOG) list.firstElementChild.remove();
  if (atBottom) list.scrollTop = list.scrollHeight;
}

function flushAudioLog() {
  const p = sim.pendingAudio;
  if (p.frames === 0) return;
  log('out', {
    type: 'audio',
    frames: p.frames,
    bytes: p.bytes,
    format: 'PCM s16le 16 kHz mono',
    note: 'binary frames in the last second',
  });
  p.frames = 0;
  p.bytes = 0;
}

init().catch((err) => {
  document.body.prepend(h('p', { class: 'error' }, `The simulator failed to start: ${err.message}`));
});
