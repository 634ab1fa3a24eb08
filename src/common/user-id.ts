/**
 * The one spelling of a user id: the email, trimmed and lower-cased. Everything that keys by user (sessions, the
 * store, leases, nginx's route key) goes through this, so one person is one user however the email was typed.
 */
export function normalizeUserId(email: string): string {
  return email.trim().toLowerCase();
}
