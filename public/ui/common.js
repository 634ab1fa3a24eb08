// Shared by /simulator and /console: credentials (admin key or simulator link, kept in
// sessionStorage only), the JSON API helper and small DOM helpers. Plain ES module, no build.

const ADMIN_KEY = 'mentra.adminKey';
const LINK = 'mentra.simulatorLink';

export class ApiError extends Error {
  constructor(status, body, what) {
    const msg =
      body && typeof body === 'object' ? (Array.isArray(body.message) ? body.message.join('; ') : body.message) : body;
    super(`${what}: HTTP ${status}${body && body.code ? ` ${body.code}` : ''}${msg ? ` — ${msg}` : ''}`);
    this.status = status;
    this.body = body;
  }
  get stage() {
    return this.body && this.body.details ? this.body.details.stage : undefined;
  }
}

export const auth = {
  /** A `#link=…` fragment wins over a stored admin key; it is moved to sessionStorage and hidden. */
  takeLinkFromUrl() {
    const m = /(?:^#|&)link=([^&]+)/.exec(location.hash);
    if (!m) return false;
    sessionStorage.setItem(LINK, decodeURIComponent(m[1]));
    history.replaceState(null, '', location.pathname + location.search);
    return true;
  },
  get adminKey() {
    return sessionStorage.getItem(ADMIN_KEY);
  },
  get link() {
    return sessionStorage.getItem(LINK);
  },
  /** 'link' | 'admin' | null */
  get mode() {
    if (this.link) return 'link';
    if (this.adminKey) return 'admin';
    return null;
  },
  setAdminKey(key) {
    sessionStorage.removeItem(LINK);
    sessionStorage.setItem(ADMIN_KEY, key);
  },
  signOut() {
    sessionStorage.removeItem(ADMIN_KEY);
    sessionStorage.removeItem(LINK);
  },
  bearer() {
    return this.link || this.adminKey || '';
  },
};

/** JSON request with the current credential; throws ApiError on a non-2xx answer. */
export async function api(method, path, body, what = `${method} ${path}`) {
  let res;
  try {
    res = await fetch(path, {
      method,
      headers: {
        authorization: `Bearer ${auth.bearer()}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    throw new ApiError(0, { message: `the cloud is not reachable (${err.message})` }, what);
  }
  const text = await res.text();
  let parsed = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    /* not JSON */
  }
  if (!res.ok) throw new ApiError(res.status, parsed, what);
  return parsed;
}

/** `/api/admin/...` path segment. */
export const seg = (s) => encodeURIComponent(s);

export const $ = (sel, root = document) => root.querySelector(sel);

/** Tiny element builder: h('td', {class: 'x', onclick}, 'text', child). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function timeAgo(iso) {
  if (!iso) return '';
  const s = Math.round((Date.now() - new Date(iso).getTime()) / 1000);
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.round(s / 60)}m ago`;
  return `${Math.round(s / 3600)}h ago`;
}

export async function loadMeta() {
  const res = await fetch('/api/simulator/meta');
  return res.json();
}
