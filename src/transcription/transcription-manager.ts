import { Injectable, Scope } from '@nestjs/common';
import type { TypedMessage } from '../common/json.util.js';
import { EventRelay } from '../relay/event-relay.js';
import { SessionContext } from '../session/session-context.js';
import { SubscriptionManager } from '../subscriptions/subscription-manager.js';

const LANG = /^[a-z]{2,3}-[A-Z]{2}$/;

export interface TranscriptionData {
  type: 'transcription';
  text: string;
  isFinal: boolean;
  utteranceId?: string;
  speakerId?: number;
  confidence?: number;
  startTime: number;
  endTime: number;
  transcribeLanguage: string;
  detectedLanguage?: string;
  provider: string;
}

/**
 * Transcription for the session's `transcription:<lang>` subscribers. Each subscriber gets its own
 * subscription string back as streamType (query options included), which is how the SDK finds its handler.
 */
@Injectable({ scope: Scope.REQUEST })
export class TranscriptionManager {
  isTranscribing = false;
  private utteranceSeq = 0;
  private openUtterance: string | null = null;

  constructor(
    ctx: SessionContext,
    private readonly subscriptions: SubscriptionManager,
    private readonly relay: EventRelay,
  ) {
    ctx.defer(() => {
      this.openUtterance = null;
    });
  }

  /** Phone-side transcripts (`local_transcription`) delivered as proper transcription data. */
  handleLocalTranscription(msg: TypedMessage): void {
    if (typeof msg.text !== 'string') return;
    const lang = typeof msg.transcribeLanguage === 'string' && LANG.test(msg.transcribeLanguage) ? msg.transcribeLanguage : 'en-US';
    const now = Date.now();
    const isFinal = msg.isFinal !== false;
    this.openUtterance ??= `local-${++this.utteranceSeq}`;
    const data: TranscriptionData = {
      type: 'transcription',
      text: msg.text,
      isFinal,
      utteranceId: this.openUtterance,
      speakerId: typeof msg.speakerId === 'number' ? msg.speakerId : 0,
      startTime: typeof msg.startTime === 'number' ? msg.startTime : now,
      endTime: typeof msg.endTime === 'number' ? msg.endTime : now,
      transcribeLanguage: lang,
      provider: typeof msg.provider === 'string' ? msg.provider : 'local',
    };
    if (isFinal) this.openUtterance = null;
    this.deliver(lang, data);
  }

  deliver(language: string, data: TranscriptionData): void {
    for (const sub of this.subscriptions.lookup(`transcription:${language}`)) this.relay.sendData(sub, data);
  }
}
