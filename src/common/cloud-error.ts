/**
 * Typed errors with a code each. Every transport maps them once: the admin filter to HTTP statuses,
 * the gateways to `connection_error` / `tpa_connection_error` messages.
 */
export const ERROR_CODES = [
  'INVALID_TOKEN',
  'INVALID_API_KEY',
  'SESSION_NOT_FOUND',
  'APP_NOT_STARTED',
  'MALFORMED_MESSAGE',
  'UNKNOWN_MESSAGE_TYPE',
  'MESSAGE_TOO_LARGE',
  'NOT_INITIALIZED',
  'ALREADY_INITIALIZED',
  'PERMISSION_DENIED',
  'GLASSES_NOT_CONNECTED',
  'APP_NOT_FOUND',
  'USER_NOT_FOUND',
  'APP_NOT_RUNNING',
  'HARDWARE_INCOMPATIBLE',
  'START_FAILED',
  'CONFLICT',
  'RATE_LIMITED',
  'LIMIT_EXCEEDED',
  'UNSUPPORTED',
  'LOCATION_TIMEOUT',
  'STREAM_NOT_FOUND',
  'TOOL_NOT_FOUND',
  'INCIDENT_NOT_FOUND',
  'TOOL_CALL_FAILED',
  'WIFI_NOT_CONNECTED',
  'INTERNAL_ERROR',
  'TOKEN_EXPIRED',
  'NOT_CONFIGURED',
  'PROVIDER_UNAVAILABLE',
  'STORE_UNAVAILABLE',
  'CLUSTER_UNAVAILABLE',
  'OWNER_UNREACHABLE',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export class CloudError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'CloudError';
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
