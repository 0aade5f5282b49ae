/** DNS messages and lookups (parser only: UDP is not captured yet, see message.ts). */
export * from './message.js';
