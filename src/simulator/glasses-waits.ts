import type {
  CloudToGlassesMessage,
  CloudToGlassesType,
  DisplayEvent,
  MicrophoneStateChange,
  ViewName,
} from './glasses-protocol.types.js';
import { GlassesSenders } from './glasses-senders.js';
import { describePattern, layoutToText, matchesText } from './layout-text.js';
import type { MessageLog, WaitOptions } from './message-log.js';

/**
 * Waiting for what the cloud sends (a message type, a display text, a mic state) and reading the display, over the
 * received-message log the subclass fills. A wait names what it waited for and what was last seen when it times out.
 */
export abstract class GlassesWaits extends GlassesSenders {
  protected abstract readonly log: MessageLog<CloudToGlassesMessage>;
  /** Default for every wait without its own `timeoutMs`. */
  protected abstract readonly timeoutMs: number;

  /**
   * Next message of `type` (matching `predicate`). Pass `{ since: mark() }` taken before the
   * triggering action to also accept a message that arrived before this call.
   */
  waitFor<K extends CloudToGlassesType>(
    type: K,
    predicate?: (m: CloudToGlassesMessage<K>) => boolean,
    opts: WaitOptions = {},
  ): Promise<CloudToGlassesMessage<K>> {
    const what = `${type}${predicate ? ` matching ${predicate.toString().slice(0, 120)}` : ''}`;
    return this.log.wait(
      what,
      (m) => {
        const typed = m as CloudToGlassesMessage<K>;
        return m.type === type && (!predicate || predicate(typed)) ? typed : undefined;
      },
      this.waitOpts(opts),
    );
  }

  /**
   * A display on `view` whose text (see `displayText`) contains the string or matches the
   * regex. Without `since` the current display counts too; with `since` every display_event
   * received from that mark counts, even one already replaced.
   */
  waitForDisplay(textOrRegex: string | RegExp, opts: WaitOptions & { view?: ViewName } = {}): Promise<DisplayEvent> {
    const view = opts.view ?? 'main';
    const current = this.state.display[view];
    if (opts.since === undefined && current && matchesText(layoutToText(current.layout), textOrRegex)) {
      return Promise.resolve(current);
    }
    return this.log.wait(
      `display_event on view "${view}" matching ${describePattern(textOrRegex)}`,
      (m) =>
        m.type === 'display_event' &&
        (m.view === 'dashboard' ? 'dashboard' : 'main') === view &&
        matchesText(layoutToText(m.layout), textOrRegex)
          ? m
          : undefined,
      this.waitOpts(opts),
    );
  }

  /**
   * Mic state `enabled`. Without `since`, resolves at once when already in that state (with the
   * last microphone_state_change, or null if none came); with `since`, needs such a message.
   */
  waitForMic(enabled: boolean, opts: WaitOptions = {}): Promise<MicrophoneStateChange | null> {
    if (opts.since === undefined && this.state.micEnabled === enabled) {
      return Promise.resolve(this.state.lastMicMessage);
    }
    return this.log.wait<MicrophoneStateChange | null>(
      `microphone_state_change with isMicrophoneEnabled=${enabled}`,
      (m) => (m.type === 'microphone_state_change' && m.isMicrophoneEnabled === enabled ? m : undefined),
      this.waitOpts(opts),
    );
  }

  /** The current display of a view as plain text ('' when blank). */
  displayText(view: ViewName = 'main'): string {
    return layoutToText(this.state.display[view]?.layout);
  }

  protected waitOpts(opts: WaitOptions): { since?: number; timeoutMs: number } {
    return { since: opts.since, timeoutMs: opts.timeoutMs ?? this.timeoutMs };
  }
}
