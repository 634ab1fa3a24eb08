/** Cloud → glasses frames the gateway builds itself; the glasses → cloud types are in `src/protocol/`. */
export interface ConnectionAck {
  type: 'connection_ack';
  sessionId: string;
  timestamp: string;
}

export interface ConnectionErrorMessage {
  type: 'connection_error';
  code: string;
  message: string;
  timestamp: string;
  details?: Record<string, unknown>;
}
