/** The app-scoped session id every app message carries: `<userId>-<packageName>`. */
export function appSessionId(userId: string, packageName: string): string {
  return `${userId}-${packageName}`;
}

/**
 * Recovers the userId by stripping the known `-<packageName>` suffix, so emails that contain `-` work
 * (upstream split on the first `-`). Returns null when the id does not end with the package.
 */
export function userIdFromAppSessionId(sessionId: string, packageName: string): string | null {
  const suffix = `-${packageName}`;
  if (!sessionId.endsWith(suffix) || sessionId.length === suffix.length) return null;
  return sessionId.slice(0, -suffix.length);
}
