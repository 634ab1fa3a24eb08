// Protocol-faithful doubles of the external media services (shared/protocol/media.md §3–§5), as real loopback servers.
export * from './soniox-double.js';
export * from './vosk-double.js';
export * from './libretranslate-double.js';
export * from './posthog-double.js';
