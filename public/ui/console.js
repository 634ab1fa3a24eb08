// /console: the developer console over the admin API — register apps (key shown once; from the form or from
// the app's own app_config.json), rotate keys, install apps for users, call an app's tools, and see who runs
// each app and how its last start went.

import { $, api, ApiError, auth, h, loadMeta, seg, timeAgo } from './common.js';

const PACKAGE_NAME = /^[a-zA-Z0-9][a-zA-Z0-9._-]{0,127}$/;
let meta = null;
let refreshTimer = null;
/** Per app row: the user typed and the last action message. */
const rowState = new Map();

async function init() {
  meta = await loadMeta();
  $('#f-type').replaceChildren(...meta.appTypes.map((t) => h('option', { value: t, selected: t === 'standard' }, t)));
  $('#f-permissions').replaceChildren(
    ...meta.permissionTypes.map((p) =>
      h(
        'label',
        {},
        h('input', { type: 'checkbox', value: p, name: 'permission' }),
        p.toLowerCase().replace(/_/g, ' '),
      ),
    ),
  );
  wire();
  if (auth.adminKey) await enter();
  else showSignIn();
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
    await api('GET', '/api/admin/apps', undefined, 'Checking the admin key');
  } catch (err) {
    auth.signOut();
    return showSignIn(
      err instanceof ApiError && err.status === 401 ? 'The cloud refused this admin API key (401).' : err.message,
    );
  }
  $('#signin').hidden = true;
  $('#app').hidden = false;
  $('#sign-out').hidden = false;
  $('#auth-info').textContent = 'admin';
  await refresh();
  clearInterval(refreshTimer);
  refreshTimer = setInterval(() => refresh().catch(() => undefined), 5000);
}

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
    clearInterval(refreshTimer);
    auth.signOut();
    showSignIn();
  });
  $('#f-add-hw').addEventListener('click', () => addHardwareRow());
  $('#register-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    register();
  });
  $('#refresh').addEventListener('click', () => refresh());
  $('#config-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    registerFromConfig();
  });
  $('#c-file').addEventListener('change', async () => {
    const file = $('#c-file').files[0];
    if (file) $('#c-json').value = await file.text();
  });
  $('#tool-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    callTool();
  });
  $('#t-app').addEventListener('change', () => renderToolChoices());
  $('#key-copy').addEventListener('click', () =>
    navigator.clipboard?.writeText($('#key-value').textContent).catch(() => undefined),
  );
}

function addHardwareRow() {
  const row = h(
    'div',
    { class: 'hw-row' },
    h(
      'select',
      { class: 'hw-type', 'aria-label': 'Hardware' },
      ...meta.hardwareTypes.map((t) => h('option', { value: t }, t)),
    ),
    h(
      'select',
      { class: 'hw-level', 'aria-label': 'Level' },
      h('option', { value: 'REQUIRED' }, 'required'),
      h('option', { value: 'OPTIONAL' }, 'optional'),
    ),
    h('button', { type: 'button', onclick: () => row.remove() }, 'Remove'),
  );
  $('#f-hardware').append(row);
}

/** The form as a CreateAppDto, or a list of problems. */
function readForm() {
  const problems = [];
  const packageName = $('#f-package').value.trim();
  const name = $('#f-name').value.trim() || packageName;
  const publicUrl = $('#f-url').value.trim();
  if (!PACKAGE_NAME.test(packageName))
    problems.push('Package name: 1-128 letters, digits, ".", "_" or "-" (e.g. com.example.notes)');
  if (!/^https?:\/\/[^\s?#]+$/.test(publicUrl)) problems.push('Public URL: an http(s) URL without query or fragment');
  const webviewURL = $('#f-webview').value.trim();
  if (webviewURL && !/^https?:\/\/\S+$/.test(webviewURL)) problems.push('Webview URL: an http(s) URL');
  let settings = [];
  const settingsText = $('#f-settings').value.trim();
  if (settingsText) {
    try {
      settings = JSON.parse(settingsText);
      if (!Array.isArray(settings)) problems.push('Settings schema: a JSON list of settings');
    } catch (err) {
      problems.push(`Settings schema is not valid JSON: ${err.message}`);
    }
  }
  const permissions = [...document.querySelectorAll('input[name=permission]:checked')].map((c) => ({ type: c.value }));
  const hardwareRequirements = [...document.querySelectorAll('#f-hardware .hw-row')].map((r) => ({
    type: r.querySelector('.hw-type').value,
    level: r.querySelector('.hw-level').value,
  }));
  const dto = {
    packageName,
    name,
    publicUrl,
    appType: $('#f-type').value,
    permissions,
    hardwareRequirements,
    settings,
  };
  if (webviewURL) dto.webviewURL = webviewURL;
  const description = $('#f-description').value.trim();
  if (description) dto.description = description;
  return { dto, problems };
}

async function register() {
  $('#register-error').textContent = '';
  const { dto, problems } = readForm();
  if (problems.length) {
    $('#register-error').textContent = problems.join('\n');
    return;
  }
  $('#f-submit').disabled = true;
  try {
    const created = await api('POST', '/api/admin/apps', dto, `Registering ${dto.packageName}`);
    showKey(`${created.app.name} (${created.app.packageName}) is registered.`, created.app.packageName, created.apiKey);
    $('#register-form').reset();
    $('#f-settings').value = '[]';
    $('#f-hardware').replaceChildren();
    await refresh();
  } catch (err) {
    $('#register-error').textContent = err.message;
  } finally {
    $('#f-submit').disabled = false;
  }
}

/** app_config.json as published, plus packageName and publicUrl: the cloud takes it unchanged. */
async function registerFromConfig() {
  $('#config-error').textContent = '';
  const packageName = $('#c-package').value.trim();
  const publicUrl = $('#c-url').value.trim();
  const problems = [];
  if (!PACKAGE_NAME.test(packageName))
    problems.push('Package name: 1-128 letters, digits, ".", "_" or "-" (e.g. com.example.notes)');
  if (!/^https?:\/\/[^\s?#]+$/.test(publicUrl)) problems.push('Public URL: an http(s) URL without query or fragment');
  let config = null;
  try {
    config = JSON.parse($('#c-json').value);
    if (!config || typeof config !== 'object' || Array.isArray(config))
      problems.push('app_config.json must be a JSON object');
  } catch (err) {
    problems.push(`app_config.json is not valid JSON: ${err.message}`);
  }
  if (problems.length) {
    $('#config-error').textContent = problems.join('\n');
    return;
  }
  $('#c-submit').disabled = true;
  try {
    const created = await api(
      'POST',
      '/api/admin/apps',
      { ...config, packageName, publicUrl },
      `Registering ${packageName} from its app_config.json`,
    );
    const tools = created.app.tools?.length ? ` with ${created.app.tools.length} tool(s)` : '';
    showKey(`${created.app.name} (${created.app.packageName}) is registered${tools}.`, packageName, created.apiKey);
    $('#config-form').reset();
    await refresh();
  } catch (err) {
    $('#config-error').textContent = err.message;
  } finally {
    $('#c-submit').disabled = false;
  }
}

/** Apps that declare tools, kept from the last refresh for the tool form. */
let toolApps = [];

function renderToolApps(apps) {
  toolApps = apps.filter((a) => Array.isArray(a.tools) && a.tools.length > 0);
  const select = $('#t-app');
  const chosen = select.value;
  select.replaceChildren(
    ...(toolApps.length
      ? toolApps.map((a) => h('option', { value: a.packageName, selected: a.packageName === chosen }, a.packageName))
      : [h('option', { value: '' }, 'no app declares tools')]),
  );
  renderToolChoices();
}

function renderToolChoices() {
  const app = toolApps.find((a) => a.packageName === $('#t-app').value);
  const select = $('#t-tool');
  const chosen = select.value;
  select.replaceChildren(
    ...(app ? app.tools : []).map((t) =>
      h('option', { value: t.id, selected: t.id === chosen, title: t.description }, t.id),
    ),
  );
}

async function callTool() {
  $('#tool-error').textContent = '';
  const userId = $('#t-user').value.trim();
  const packageName = $('#t-app').value;
  const toolId = $('#t-tool').value;
  if (!userId || !packageName || !toolId) {
    $('#tool-error').textContent = 'Choose a user, an app that declares tools and one of its tools';
    return;
  }
  let toolParameters;
  try {
    toolParameters = JSON.parse($('#t-params').value.trim() || '{}');
  } catch (err) {
    $('#tool-error').textContent = `Parameters are not valid JSON: ${err.message}`;
    return;
  }
  $('#t-submit').disabled = true;
  try {
    const r = await api(
      'POST',
      `/api/admin/sessions/${seg(userId)}/apps/${seg(packageName)}/tools/${seg(toolId)}`,
      { toolParameters },
      `Calling ${toolId} of ${packageName}`,
    );
    $('#tool-result').textContent =
      `${toolId} → ${typeof r.reply === 'string' ? r.reply : JSON.stringify(r.reply)}` +
      (r.appRunning ? ' (the app is running for this user)' : '');
    $('#tool-result').hidden = false;
  } catch (err) {
    $('#tool-error').textContent = err.message;
  } finally {
    $('#t-submit').disabled = false;
  }
}

function showKey(title, packageName, apiKey) {
  $('#key-title').textContent = title;
  $('#key-value').textContent = apiKey;
  $('#key-env').textContent = `PACKAGE_NAME=${packageName} MENTRAOS_API_KEY=${apiKey}`;
  $('#key-box').hidden = false;
  $('#key-box').scrollIntoView({ block: 'nearest' });
}

async function refresh() {
  let apps;
  let sessions;
  try {
    [apps, sessions] = await Promise.all([
      api('GET', '/api/admin/apps', undefined, 'Listing apps'),
      api('GET', '/api/admin/sessions', undefined, 'Listing sessions'),
    ]);
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      auth.signOut();
      return showSignIn('The admin API key is no longer accepted (401).');
    }
    $('#apps-error').textContent = err.message;
    return;
  }
  $('#apps-error').textContent = '';
  renderApps(apps, sessions);
  renderToolApps(apps);
  renderSessions(sessions);
}

/**
 * Start outcomes this console saw itself (the start API answers with the failing stage). The session
 * summary's apps[].lastStart covers starts made elsewhere, but only while the app stays in the session.
 */
const STARTS = 'mentra.console.starts';
function localStarts() {
  try {
    return JSON.parse(sessionStorage.getItem(STARTS) || '{}');
  } catch {
    return {};
  }
}
function recordStart(packageName, userId, lastStart) {
  const all = localStarts();
  all[packageName] = [{ userId, lastStart }, ...(all[packageName] || [])].slice(0, 10);
  sessionStorage.setItem(STARTS, JSON.stringify(all));
}

function lastStartCell(entries) {
  if (entries.length === 0) return h('span', { class: 'muted' }, '—');
  return h(
    'div',
    {},
    ...entries.map(({ userId, lastStart: l }) =>
      h(
        'div',
        { title: l.message || '' },
        l.ok
          ? h('span', { class: 'ok' }, 'ok')
          : h('span', { class: 'bad' }, h('span', { class: 'stage' }, l.stage || 'failed')),
        h('span', { class: 'sub' }, ` ${userId} · ${timeAgo(l.at)}`),
        !l.ok && l.message ? h('div', { class: 'sub' }, l.message) : null,
      ),
    ),
  );
}

function renderApps(apps, sessions) {
  const rows = apps.map((app) => {
    const runners = sessions.filter((s) => s.runningApps.includes(app.packageName)).map((s) => s.userId);
    // The newest outcome per user, from the live sessions or from starts made here.
    const newest = new Map();
    for (const x of [
      ...sessions
        .map((s) => ({ userId: s.userId, info: s.apps.find((a) => a.packageName === app.packageName) }))
        .filter((x) => x.info && x.info.lastStart)
        .map((x) => ({ userId: x.userId, lastStart: x.info.lastStart })),
      ...(localStarts()[app.packageName] || []),
    ]) {
      const had = newest.get(x.userId);
      if (!had || had.lastStart.at < x.lastStart.at) newest.set(x.userId, x);
    }
    const starts = [...newest.values()].sort((a, b) => (a.lastStart.at < b.lastStart.at ? 1 : -1)).slice(0, 5);
    const needs = [
      ...app.permissions.map((p) => p.type.toLowerCase()),
      ...app.hardwareRequirements.map((hw) => `${hw.type.toLowerCase()}${hw.level === 'OPTIONAL' ? '?' : ''}`),
    ];
    // The table is re-drawn every 5 s: what was typed and the last message survive it.
    const kept = rowState.get(app.packageName) || { user: '', status: '', armedUntil: 0 };
    rowState.set(app.packageName, kept);
    const userInput = h('input', {
      placeholder: 'user@example.com',
      size: 18,
      'aria-label': `User for ${app.packageName}`,
    });
    userInput.value = kept.user;
    userInput.addEventListener('input', () => (kept.user = userInput.value));
    const statusEl = h('div', { class: 'sub' }, kept.status);
    const status = {
      set textContent(text) {
        kept.status = text;
        statusEl.textContent = text;
      },
    };
    // Rotating takes two clicks within 6 s (arm, confirm); the armed state survives a re-draw.
    const isArmed = () => (kept.armedUntil || 0) > Date.now();
    const rotate = h(
      'button',
      { type: 'button', class: isArmed() ? 'danger' : '' },
      isArmed() ? 'Confirm: old key stops working' : 'Rotate key',
    );
    rotate.addEventListener('click', async () => {
      if (!isArmed()) {
        kept.armedUntil = Date.now() + 6000;
        rotate.textContent = 'Confirm: old key stops working';
        rotate.classList.add('danger');
        setTimeout(() => {
          if (isArmed()) return;
          rotate.textContent = 'Rotate key';
          rotate.classList.remove('danger');
        }, 6100);
        return;
      }
      kept.armedUntil = 0;
      rotate.textContent = 'Rotate key';
      rotate.classList.remove('danger');
      try {
        const r = await api(
          'POST',
          `/api/admin/apps/${seg(app.packageName)}/api-key`,
          undefined,
          `Rotating the key of ${app.packageName}`,
        );
        showKey(`New API key for ${app.packageName}; the old one no longer works.`, app.packageName, r.apiKey);
      } catch (err) {
        status.textContent = err.message;
      }
    });
    const start = h(
      'button',
      { type: 'button', title: "Start it in the user's live session (glasses connected, e.g. in the simulator)" },
      'Start',
    );
    start.addEventListener('click', async () => {
      const userId = userInput.value.trim();
      if (!userId) return (status.textContent = 'Enter a user id (email) with a live session');
      status.textContent = `Starting for ${userId}…`;
      start.disabled = true;
      try {
        await api(
          'POST',
          `/api/admin/sessions/${seg(userId)}/apps/${seg(app.packageName)}/start`,
          undefined,
          `Starting ${app.packageName}`,
        );
        recordStart(app.packageName, userId, { at: new Date().toISOString(), ok: true });
        status.textContent = `Started for ${userId}.`;
      } catch (err) {
        const stage = err instanceof ApiError ? err.stage : undefined;
        if (stage)
          recordStart(app.packageName, userId, {
            at: new Date().toISOString(),
            ok: false,
            stage,
            message: err.body.message,
          });
        status.textContent = stage ? `Start failed at stage ${stage}.` : err.message;
      } finally {
        start.disabled = false;
      }
      await refresh();
    });
    const install = h('button', { type: 'button' }, 'Install');
    install.addEventListener('click', async () => {
      const userId = userInput.value.trim();
      if (!userId) return (status.textContent = 'Enter a user id (email)');
      try {
        await api(
          'PUT',
          `/api/admin/users/${seg(userId)}/apps/${seg(app.packageName)}`,
          undefined,
          `Installing ${app.packageName}`,
        );
        status.textContent = `Installed for ${userId}. Try it: /simulator?user=${userId}`;
      } catch (err) {
        status.textContent = err.message;
      }
    });
    return h(
      'tr',
      { dataset: { app: app.packageName } },
      h(
        'td',
        {},
        h('strong', {}, app.name),
        h('div', { class: 'sub mono' }, app.packageName),
        h('div', { class: 'sub mono' }, app.publicUrl),
        app.webviewURL
          ? h(
              'div',
              { class: 'sub' },
              'webview: ',
              h('a', { href: app.webviewURL, target: '_blank', rel: 'noopener' }, app.webviewURL),
            )
          : null,
      ),
      h(
        'td',
        {},
        app.appType,
        h('div', { class: 'sub' }, needs.join(', ') || 'no permissions'),
        app.tools?.length ? h('div', { class: 'sub' }, `tools: ${app.tools.map((t) => t.id).join(', ')}`) : null,
      ),
      h('td', {}, runners.length ? runners.join(', ') : h('span', { class: 'muted' }, 'nobody')),
      h('td', {}, lastStartCell(starts)),
      h(
        'td',
        { class: 'actions' },
        h('div', { class: 'row' }, userInput, install, start),
        h('div', { class: 'row' }, rotate),
        statusEl,
      ),
    );
  });
  $('#apps').replaceChildren(
    ...(rows.length
      ? rows
      : [h('tr', {}, h('td', { colspan: 5, class: 'muted' }, 'No apps yet: register one above.'))]),
  );
}

function renderSessions(sessions) {
  const rows = sessions.map((s) =>
    h(
      'tr',
      {},
      h('td', {}, s.userId, h('div', { class: 'sub' }, `since ${timeAgo(s.startTime)}`)),
      h(
        'td',
        {},
        s.glassesConnected
          ? h('span', { class: 'ok' }, 'connected')
          : h('span', { class: 'muted' }, `gone ${timeAgo(s.disconnectedAt)}`),
        h('div', { class: 'sub' }, s.modelName || 'unknown model'),
      ),
      h(
        'td',
        {},
        ...(s.apps.length
          ? s.apps.map((a) =>
              h(
                'div',
                {},
                h('span', { class: 'mono' }, a.packageName),
                ' ',
                h('span', { class: a.state === 'running' ? 'ok' : 'muted' }, a.state),
                a.lastStart && !a.lastStart.ok
                  ? h(
                      'span',
                      { class: 'bad' },
                      ` · last start failed at `,
                      h('span', { class: 'stage' }, a.lastStart.stage || '?'),
                    )
                  : null,
              ),
            )
          : [h('span', { class: 'muted' }, 'no apps')]),
      ),
      h(
        'td',
        { class: 'actions' },
        h('a', { href: `/simulator?user=${encodeURIComponent(s.userId)}` }, 'open in simulator'),
      ),
    ),
  );
  $('#sessions').replaceChildren(
    ...(rows.length ? rows : [h('tr', {}, h('td', { colspan: 4, class: 'muted' }, 'No live sessions.'))]),
  );
}

init().catch((err) => document.body.prepend(h('p', { class: 'error' }, `The console failed to start: ${err.message}`)));
