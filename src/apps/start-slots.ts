import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/config.types.js';

interface Waiter {
  grant: (release: () => void) => void;
  /** Set once the waiter got a slot or gave up. */
  done: boolean;
}

interface PackageSlots {
  active: number;
  queue: Waiter[];
}

/**
 * Webhook starts in flight per app, for the whole process. After a restart every user's session restores its apps
 * at once; without a bound one app server would be asked for thousands of sessions together, its sockets would pass
 * the per-address limit of uninitialised app sockets (429) and its inits the init deadline. A start holds its slot
 * from the session_request until the start settles (init acked, failed or cancelled); the rest wait in order.
 *
 * Written here rather than taken from a library: cockatiel's bulkhead leaves a cancelled waiter in its queue and
 * loses a slot when it reaches it, and p-limit cannot drop a queued task; a start cancelled while it waits (the
 * session ended, the app was stopped) must leave the queue at once.
 */
@Injectable()
export class StartSlots {
  private readonly byPackage = new Map<string, PackageSlots>();

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  /**
   * Resolves with the function that gives the slot back (call it once), or null when `until` settled first (nothing is
   * held then): a start passes its own outcome, so a start cancelled or finished while it waits leaves the queue.
   */
  acquire(packageName: string, until: Promise<unknown>): Promise<(() => void) | null> {
    let slots = this.byPackage.get(packageName);
    if (!slots) {
      slots = { active: 0, queue: [] };
      this.byPackage.set(packageName, slots);
    }
    if (slots.active < this.config.appStartsPerApp) {
      slots.active++;
      return Promise.resolve(this.releaser(packageName, slots));
    }
    const queued = slots;
    return new Promise((resolve) => {
      const waiter: Waiter = {
        done: false,
        grant: (release) => {
          waiter.done = true;
          resolve(release);
        },
      };
      const giveUp = (): void => {
        if (waiter.done) return;
        waiter.done = true;
        queued.queue.splice(queued.queue.indexOf(waiter), 1);
        this.dropIfIdle(packageName, queued);
        resolve(null);
      };
      void until.then(giveUp, giveUp);
      queued.queue.push(waiter);
    });
  }

  /** How many starts of `packageName` hold a slot, and how many wait for one. */
  stats(packageName: string): { active: number; queued: number } {
    const slots = this.byPackage.get(packageName);
    return { active: slots?.active ?? 0, queued: slots?.queue.length ?? 0 };
  }

  private releaser(packageName: string, slots: PackageSlots): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = slots.queue.shift();
      if (next) {
        // The slot passes straight to the next waiter: `active` stays as it is.
        next.grant(this.releaser(packageName, slots));
        return;
      }
      slots.active--;
      this.dropIfIdle(packageName, slots);
    };
  }

  private dropIfIdle(packageName: string, slots: PackageSlots): void {
    if (slots.active === 0 && slots.queue.length === 0 && this.byPackage.get(packageName) === slots)
      this.byPackage.delete(packageName);
  }
}
