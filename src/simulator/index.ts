export * from './glasses-protocol.types.js';
export * from './device-models.js';
export * from './simulated-glasses.js';
export { signCoreToken } from './core-token.js';
export { layoutToText, isClearingLayout, matchesText } from './layout-text.js';
export { TINY_JPEG, uploadPhoto, type PhotoUploadInput, type PhotoUploadResult } from './photo-upload.js';
export type { WaitOptions } from './message-log.js';
export * from './glasses-state.js';
