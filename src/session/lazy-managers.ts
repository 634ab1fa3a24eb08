import { AudioOutputManager } from '../audio-stream/audio-output-manager.js';
import { CalendarManager } from '../calendar/calendar-manager.js';
import { PhoneRequests } from '../phone/phone-requests.js';
import { PhotoManager } from '../photo/photo-manager.js';
import { ManagedStreamingManager } from '../streaming/managed-streaming-manager.js';
import { VideoManager } from '../streaming/video-manager.js';
import { TranslationManager } from '../translation/translation-manager.js';

/**
 * The managers a session builds on first use rather than at glasses connect: most sessions never use them, and
 * each one costs the resolver ~20 µs and its own heap. None of them sends anything at connect or needs an event
 * every session sees: until first use they hold no state, so their listeners would have nothing to do.
 */
export const LAZY_MANAGERS = {
  calendar: CalendarManager,
  phone: PhoneRequests,
  translation: TranslationManager,
  photo: PhotoManager,
  video: VideoManager,
  managedStreaming: ManagedStreamingManager,
  audioOutput: AudioOutputManager,
} as const;

export type LazyName = keyof typeof LAZY_MANAGERS;
export type LazyManagers = { [K in LazyName]: InstanceType<(typeof LAZY_MANAGERS)[K]> };

/** What the builder needs of a session (UserSession, without an import cycle at run time). */
export interface LazyHost {
  readonly userId: string;
  use<K extends LazyName>(name: K): Promise<LazyManagers[K]>;
  /** Every manager of the session built so far (the eager ones and the lazy ones already built). */
  builtInstances(): Iterable<object>;
}

/** The builder's token: UserSession injects it by token, so this file and the builder's import no cycle. */
export const LAZY_BUILDER = Symbol('LazyManagerBuilder');

export interface LazyBuilder {
  build<K extends LazyName>(session: LazyHost, name: K): Promise<LazyManagers[K]>;
}
