import type { OpenLayout } from '../protocol/glasses.types.js';
import type { LayoutTypeName } from '../protocol/vocabulary.js';

export { LAYOUT_TYPES } from '../protocol/vocabulary.js';
export type LayoutType = LayoutTypeName;
export type ViewName = 'main' | 'dashboard';

/** A layout as apps send it and the glasses receive it (its fields unchecked). */
export type Layout = OpenLayout;

/** What the glasses receive: the app's request with its real packageName (never the claimed one). */
export interface DisplayRequest {
  type: 'display_event';
  packageName: string;
  view: ViewName;
  layout: Layout;
  durationMs?: number;
  forceDisplay?: boolean;
  timestamp: string;
}

export type DisplayOutcome = 'shown' | 'queued_boot' | 'throttled' | 'blocked' | 'rejected';

export interface DisplayDecision {
  at: string;
  packageName: string;
  view: ViewName;
  outcome: DisplayOutcome;
  reason: string;
}

/** Constants of DisplayManager 6.1. */
export const DISPLAY_TIMINGS = {
  throttleMs: 300,
  bootMs: 1_500,
  lockMs: 10_000,
  lockInactiveMs: 2_000,
  minDisplayLifetimeMs: 1_000,
} as const;

/** The text a layout shows, for the dashboard's app items, logs and the simulator. */
export function layoutText(layout: Layout): string {
  const s = (v: unknown) => (typeof v === 'string' ? v : '');
  switch (layout.layoutType) {
    case 'text_wall':
      return s(layout.text);
    case 'double_text_wall':
      return [s(layout.topText), s(layout.bottomText)].filter(Boolean).join('\n');
    case 'dashboard_card':
      return [s(layout.leftText), s(layout.rightText)].filter(Boolean).join(' | ');
    case 'reference_card':
      return [s(layout.title), s(layout.text)].filter(Boolean).join('\n');
    default:
      return '';
  }
}
