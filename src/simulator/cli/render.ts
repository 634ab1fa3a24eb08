import type { DeviceModel } from '../device-models.js';
import type { Layout, OpenLayout } from '../glasses-protocol.types.js';
import type { GlassesState } from '../glasses-state.js';

/**
 * The glasses display as terminal text: a box of `rows` × `cols` characters per view, laid out
 * the way the glasses lay out each layout type (two columns for double_text_wall and
 * dashboard_card, a title line for reference_card).
 */

export interface ScreenSize {
  cols: number;
  rows: number;
}

/** Text-grid size per model: G1-class displays show 5 lines of about 40 characters. */
export function screenSizeFor(model: DeviceModel): ScreenSize {
  switch (model.name) {
    case 'Vuzix Z100':
    case 'Simulated Glasses':
      return { cols: 40, rows: 7 };
    case 'NIMO':
      return { cols: 40, rows: 8 };
    default:
      return { cols: 40, rows: 5 };
  }
}

/** Greedy word wrap; words longer than the width are broken. Newlines are kept. */
export function wrapText(text: string, width: number): string[] {
  const lines: string[] = [];
  for (const para of text.replace(/\r\n?/g, '\n').split('\n')) {
    if (para.trim() === '') {
      lines.push('');
      continue;
    }
    let line = '';
    for (let word of para.split(/[ \t]+/).filter(Boolean)) {
      while (word.length > width) {
        if (line) {
          lines.push(line);
          line = '';
        }
        lines.push(word.slice(0, width));
        word = word.slice(width);
      }
      if (!line) line = word;
      else if (line.length + 1 + word.length <= width) line += ` ${word}`;
      else {
        lines.push(line);
        line = word;
      }
    }
    if (line) lines.push(line);
  }
  return lines;
}

/** Lines of exactly `cols` characters, at most `rows` (a cut is marked with "…"). */
export function layoutLines(layout: Layout | OpenLayout | null | undefined, size: ScreenSize): string[] {
  const { cols, rows } = size;
  let lines: string[];
  if (!layout) lines = [];
  else {
    const s = (v: unknown): string => (v === undefined || v === null ? '' : String(v));
    switch (layout.layoutType) {
      case 'text_wall':
        lines = wrapText(s(layout.text), cols);
        break;
      case 'double_text_wall':
        lines = columns(s(layout.topText), s(layout.bottomText), cols);
        break;
      case 'dashboard_card':
        lines = columns(s(layout.leftText), s(layout.rightText), cols);
        break;
      case 'reference_card': {
        const title = s(layout.title);
        lines = [
          ...(title
            ? [truncate(title.toUpperCase(), cols), '─'.repeat(Math.min(cols, Math.max(3, title.length)))]
            : []),
          ...wrapText(s(layout.text), cols),
        ];
        break;
      }
      case 'bitmap_view':
        lines = [
          '',
          center('[bitmap image]', cols),
          center(`(${Math.round((s(layout.data).length * 3) / 4)} bytes, see /simulator)`, cols),
        ];
        break;
      case 'bitmap_animation':
        lines = [
          '',
          center(`[bitmap animation: ${Array.isArray(layout.frames) ? layout.frames.length : 0} frames]`, cols),
          center(`every ${s(layout.interval)} ms${layout.repeat ? ', repeating' : ''}`, cols),
        ];
        break;
      default:
        lines = [];
    }
  }
  if (lines.length > rows) {
    lines = lines.slice(0, rows);
    const last = lines[rows - 1]!;
    lines[rows - 1] = `${last.slice(0, cols - 1).padEnd(cols - 1)}…`;
  }
  while (lines.length < rows) lines.push('');
  return lines.map((l) => l.slice(0, cols).padEnd(cols));
}

function columns(left: string, right: string, cols: number): string[] {
  const gap = 2;
  const lw = Math.floor((cols - gap) / 2);
  const rw = cols - gap - lw;
  const l = wrapText(left, lw);
  const r = wrapText(right, rw);
  const n = Math.max(l.length, r.length);
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(`${(l[i] ?? '').padEnd(lw)}${' '.repeat(gap)}${r[i] ?? ''}`);
  return out;
}

function center(text: string, cols: number): string {
  const t = truncate(text, cols);
  return ' '.repeat(Math.floor((cols - t.length) / 2)) + t;
}

function truncate(text: string, cols: number): string {
  return text.length > cols ? `${text.slice(0, cols - 1)}…` : text;
}

export function boxed(title: string, lines: string[], cols: number, highlight = false): string[] {
  const h = highlight ? '━' : '─';
  const v = highlight ? '┃' : '│';
  const [tl, tr, bl, br] = highlight ? ['┏', '┓', '┗', '┛'] : ['┌', '┐', '└', '┘'];
  const label = ` ${title.length > cols - 4 ? `${title.slice(0, cols - 5)}…` : title} `;
  const top = `${tl}${h}${label}${h.repeat(Math.max(0, cols - label.length - 1))}${tr}`;
  return [top, ...lines.map((l) => `${v}${l}${v}`), `${bl}${h.repeat(cols)}${br}`];
}

export interface ScreenInfo {
  model: DeviceModel;
  state: GlassesState;
  headUp: boolean;
  userId: string;
  apps: string[];
  status?: string;
  /** The short-lived /simulator link, shown under the status. */
  link?: string | null;
}

/** The whole terminal frame: main view, dashboard, a status line and the keys. */
export function renderScreen(info: ScreenInfo): string[] {
  const size = screenSizeFor(info.model);
  const main = layoutLines(info.state.display.main?.layout, size);
  const dash = layoutLines(info.state.display.dashboard?.layout, size);
  const owner = info.state.display.main?.packageName;
  return [
    `${info.model.name} — ${info.userId}${info.apps.length ? ` — ${info.apps.join(', ')}` : ''}`,
    '',
    ...boxed(`Main view${owner ? ` (${owner})` : ''}${info.headUp ? '' : ' ◀ showing'}`, main, size.cols, !info.headUp),
    ...boxed(`Dashboard (head up)${info.headUp ? ' ◀ showing' : ''}`, dash, size.cols, info.headUp),
    `socket ${info.state.connected ? 'open' : 'closed'} · mic ${info.state.micEnabled ? 'ON' : 'off'}${info.state.requiredData.length ? ` (${info.state.requiredData.join(',')})` : ''} · head ${info.headUp ? 'up' : 'down'}`,
    info.status ?? '',
    ...(info.link ? [`web simulator: ${info.link}`] : []),
    'keys: b short press · B long press · u head up · d head down · s say · t speak · r reconnect · q quit',
  ];
}
