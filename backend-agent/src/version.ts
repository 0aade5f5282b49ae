/** Kept in step with backend-agent/package.json by a test. */
export const AGENT_VERSION = '0.1.0';
