/** Why a session ended. */
export type SessionEndReason =
  /** The glasses stayed away longer than GLASSES_GRACE_MS. */
  | 'glasses_disconnected'
  /** An operator ended it (admin API). */
  | 'admin'
  /** The phone signed out or shut down (`POST /api/client/goodbye`) with its glasses socket already closed. */
  | 'phone_goodbye'
  /** The service is shutting down (a restart: the persisted running apps are kept). */
  | 'shutdown'
  /** Cluster: another process took the user over (its sockets were told to reconnect; running apps are kept). */
  | 'moved';

export interface SessionEndedEvent {
  userId: string;
  startedAt: string;
  endedAt: string;
  durationMs: number;
  /** Every app that connected during the session, in the order they first did. */
  appsUsed: string[];
  reason: SessionEndReason;
}

/**
 * Where session events go. Every sink gets every event; a sink must not throw or block (the event is
 * reported from the session's disposal), and buffers what it sends elsewhere until `flush()`.
 */
export interface SessionEventSink {
  readonly name: string;
  sessionEnded(event: SessionEndedEvent): void;
  /** At shutdown, after the last sessions ended: send what is buffered. */
  flush?(): Promise<void>;
}

/** The list of sinks (the log line and the metric always, PostHog when configured); other sinks can be added here. */
export const SESSION_EVENT_SINKS = Symbol('SESSION_EVENT_SINKS');
