/**
 * The closed word lists of the wire protocol, shared by the boundary checks (`app-checks.ts`,
 * `glasses-checks.ts`) and the managers that act on the values.
 */

export const LAYOUT_TYPES = [
  'text_wall',
  'double_text_wall',
  'dashboard_card',
  'reference_card',
  'bitmap_view',
  'bitmap_animation',
  'clear_view',
] as const;
export type LayoutTypeName = (typeof LAYOUT_TYPES)[number];

export type DashboardMode = 'main' | 'expanded';
export const DASHBOARD_MODES: readonly DashboardMode[] = ['main', 'expanded'];
export const DASHBOARD_SECTIONS = ['topLeft', 'topRight', 'bottomLeft', 'bottomRight'] as const;
export type DashboardSection = (typeof DASHBOARD_SECTIONS)[number];

/** Location sampling tiers, low to high. */
export const LOCATION_TIERS = [
  'reduced',
  'threeKilometers',
  'kilometer',
  'hundredMeters',
  'tenMeters',
  'standard',
  'high',
  'realtime',
] as const;
export type LocationTierName = (typeof LOCATION_TIERS)[number];

export const LED_COLORS = ['red', 'green', 'blue', 'orange', 'white'] as const;
export type LedColor = (typeof LED_COLORS)[number];

export const PHOTO_SIZES = ['small', 'medium', 'large', 'full'] as const;
export type PhotoSize = (typeof PHOTO_SIZES)[number];
export const PHOTO_COMPRESSIONS = ['none', 'medium', 'heavy'] as const;
export type PhotoCompression = (typeof PHOTO_COMPRESSIONS)[number];

/** Output audio streams (`audio_stream_start`) are named by this many printable ASCII characters. */
export const AUDIO_STREAM_ID_BYTES = 36;
