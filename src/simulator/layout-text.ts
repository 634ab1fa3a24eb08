import type { Layout, OpenLayout } from './glasses-protocol.types.js';

/**
 * Plain-text rendering of a layout. Shared by `displayText()`, the display waits and the CLI,
 * so a test that waits for "Hello" and a human looking at the CLI see the same string.
 * Joins follow the dashboard's own layout→text rule.
 * Fields are read defensively because layouts come straight off the network.
 */
export function layoutToText(layout: Layout | OpenLayout | null | undefined): string {
  if (!layout) return '';
  const s = (v: unknown): string => (v === undefined || v === null ? '' : String(v));
  switch (layout.layoutType) {
    case 'text_wall':
      return s(layout.text);
    case 'double_text_wall':
      return joinNonEmpty([s(layout.topText), s(layout.bottomText)], '\n');
    case 'dashboard_card':
      return joinNonEmpty([s(layout.leftText), s(layout.rightText)], ' | ');
    case 'reference_card':
      return joinNonEmpty([s(layout.title), s(layout.text)], '\n');
    case 'bitmap_view':
      return '[bitmap]';
    case 'bitmap_animation':
      return `[bitmap animation: ${Array.isArray(layout.frames) ? layout.frames.length : 0} frames]`;
    case 'clear_view':
      return '';
    default:
      return '';
  }
}

/** The cloud clears a view with either a clear_view or an empty text_wall. */
export function isClearingLayout(layout: Layout | OpenLayout | null | undefined): boolean {
  if (!layout) return true;
  return layout.layoutType === 'clear_view' || (layout.layoutType === 'text_wall' && !layout.text);
}

/** A string matches as a substring, a RegExp by `test` (with `lastIndex` reset for /g regexes). */
export function matchesText(text: string, pattern: string | RegExp): boolean {
  if (typeof pattern === 'string') return text.includes(pattern);
  pattern.lastIndex = 0;
  return pattern.test(text);
}

export function describePattern(pattern: string | RegExp): string {
  return typeof pattern === 'string' ? JSON.stringify(pattern) : String(pattern);
}

function joinNonEmpty(parts: string[], sep: string): string {
  return parts.filter((p) => p !== '').join(sep);
}
