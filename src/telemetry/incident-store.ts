import { Injectable } from '@nestjs/common';
import { randomBytes, randomUUID } from 'node:crypto';
import { safeEqual, sha256Hex } from '../common/crypto.util.js';

export interface TelemetryLogEntry {
  timestamp: number;
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
  source?: string;
  data?: unknown;
}

export interface Incident {
  incidentId: string;
  userId: string;
  packageName: string;
  windowMs: number;
  requestedAt: string;
  expiresAt: string;
  uploadedAt: string | null;
  logs: TelemetryLogEntry[];
  metadata: Record<string, unknown> | null;
}

interface Entry {
  incident: Incident;
  tokenHash: string;
  expires: number;
}

/** Incidents kept (oldest dropped first): what an operator looks at, not an archive. */
export const MAX_INCIDENTS = 100;
/** How long an app has to upload its logs with the token it was sent. */
export const UPLOAD_TOKEN_TTL_MS = 10 * 60_000;

export type UploadOutcome = 'stored' | 'unauthorized' | 'wrong_app';

/**
 * Telemetry requests to apps (SDK 3 `request_telemetry`) and the logs they upload. Each request gets a random
 * upload token bound to its incident, app and user, kept only as a hash, valid for one upload within
 * UPLOAD_TOKEN_TTL_MS. In memory and bounded: an operator's debugging aid.
 */
@Injectable()
export class IncidentStore {
  private readonly incidents = new Map<string, Entry>();

  create(userId: string, packageName: string, windowMs: number): { incident: Incident; uploadToken: string } {
    const uploadToken = randomBytes(32).toString('base64url');
    const now = Date.now();
    const incident: Incident = {
      incidentId: randomUUID(),
      userId,
      packageName,
      windowMs,
      requestedAt: new Date(now).toISOString(),
      expiresAt: new Date(now + UPLOAD_TOKEN_TTL_MS).toISOString(),
      uploadedAt: null,
      logs: [],
      metadata: null,
    };
    this.incidents.set(incident.incidentId, {
      incident,
      tokenHash: sha256Hex(uploadToken),
      expires: now + UPLOAD_TOKEN_TTL_MS,
    });
    while (this.incidents.size > MAX_INCIDENTS) this.incidents.delete(this.incidents.keys().next().value!);
    return { incident, uploadToken };
  }

  get(incidentId: string): Incident | undefined {
    return this.incidents.get(incidentId)?.incident;
  }

  /** Stores the upload when the token is this incident's, unused and unexpired, and the app is the one asked. */
  upload(
    incidentId: string,
    token: string,
    packageName: string,
    logs: TelemetryLogEntry[],
    metadata: Record<string, unknown> | null,
  ): UploadOutcome {
    const entry = this.incidents.get(incidentId);
    if (!entry || !token || !safeEqual(sha256Hex(token), entry.tokenHash)) return 'unauthorized';
    if (entry.incident.uploadedAt !== null || Date.now() > entry.expires) return 'unauthorized';
    if (packageName !== entry.incident.packageName) return 'wrong_app';
    entry.incident.uploadedAt = new Date().toISOString();
    entry.incident.logs = logs;
    entry.incident.metadata = metadata;
    return 'stored';
  }
}
