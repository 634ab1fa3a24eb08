import type { HardwareRequirement, HardwareType } from '../persistence/persistence.types.js';
import type { Capabilities } from './capability-profiles.js';

export interface CompatibilityResult {
  compatible: boolean;
  missingRequired: HardwareType[];
  missingOptional: HardwareType[];
  message: string;
}

function present(type: HardwareType, caps: Capabilities): boolean {
  switch (type) {
    case 'CAMERA':
      return caps.hasCamera;
    case 'DISPLAY':
      return caps.hasDisplay;
    // The phone's microphone stands in when the glasses have none (upstream rule).
    case 'MICROPHONE':
      return true;
    case 'SPEAKER':
      return caps.hasSpeaker;
    case 'IMU':
      return caps.hasIMU;
    case 'BUTTON':
      return caps.hasButton;
    case 'LIGHT':
      return caps.hasLight;
    case 'WIFI':
      return caps.hasWifi;
    default:
      return false;
  }
}

export const COMPATIBILITY_MESSAGES = {
  compatible: 'This app is fully compatible with your glasses',
  noGlasses: 'No glasses connected - cannot verify hardware compatibility',
  unknownModel: 'Glasses model unknown - cannot verify hardware compatibility',
} as const;

/**
 * `caps` null (no glasses known) or `known` false (a model without a profile): compatible, with a
 * warning message, so an app is never blocked for hardware it may well have.
 */
export function checkCompatibility(
  requirements: readonly HardwareRequirement[] | null | undefined,
  caps: Capabilities | null,
  known = true,
): CompatibilityResult {
  if (!requirements || requirements.length === 0)
    return { compatible: true, missingRequired: [], missingOptional: [], message: COMPATIBILITY_MESSAGES.compatible };
  if (caps === null)
    return { compatible: true, missingRequired: [], missingOptional: [], message: COMPATIBILITY_MESSAGES.noGlasses };
  if (!known)
    return { compatible: true, missingRequired: [], missingOptional: [], message: COMPATIBILITY_MESSAGES.unknownModel };
  const missingRequired: HardwareType[] = [];
  const missingOptional: HardwareType[] = [];
  for (const r of requirements) {
    if (present(r.type, caps)) continue;
    (r.level === 'REQUIRED' ? missingRequired : missingOptional).push(r.type);
  }
  const lower = (t: HardwareType[]) => t.map((x) => x.toLowerCase());
  let message: string = COMPATIBILITY_MESSAGES.compatible;
  if (missingRequired.length === 1)
    message = `This app requires a ${lower(missingRequired)[0]} which is not available on your connected glasses`;
  else if (missingRequired.length > 1)
    message = `This app requires the following hardware which is not available on your connected glasses: ${lower(missingRequired).join(', ')}`;
  else if (missingOptional.length > 0)
    message = `This app works with your glasses but has optional features that require: ${lower(missingOptional).join(', ')}`;
  return { compatible: missingRequired.length === 0, missingRequired, missingOptional, message };
}
