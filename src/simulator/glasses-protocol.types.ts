/** The simulator speaks the server's own wire types: one definition, so the two cannot drift apart. */
export * from '../protocol/glasses.types.js';
export { GLASSES_INBOUND_TYPES } from '../protocol/glasses-inbound.js';
