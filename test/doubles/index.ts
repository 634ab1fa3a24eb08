// Protocol-faithful doubles of the external media services, as real loopback servers.
export * from './soniox-double.js';
export * from './vosk-double.js';
export * from './libretranslate-double.js';
export * from './posthog-double.js';
