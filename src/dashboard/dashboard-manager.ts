import { Inject, Injectable, Scope } from '@nestjs/common';
import { AppConnections } from '../app-connections/app-connections.js';
import { appSessionId } from '../common/app-session-id.js';
import { APP_CONFIG, type AppConfig } from '../config/config.types.js';
import { DisplayManager } from '../display/display-manager.js';
import { layoutText, type Layout } from '../display/display.types.js';
import { SessionContext, type SessionEvents } from '../session-core/session-context.js';
import type { AppToCloud } from '../protocol/app.types.js';
import {
  DASHBOARD_MODES,
  DASHBOARD_SECTIONS,
  type DashboardMode,
  type DashboardSection,
} from '../protocol/vocabulary.js';
import type { Result } from '../common/result.js';
import { LazyMap } from '../common/lazy-collections.js';

export { DASHBOARD_MODES, DASHBOARD_SECTIONS, type DashboardMode, type DashboardSection };

interface Item {
  text: string;
  at: number;
}

export type DashboardResult = Result<object, 'PERMISSION_DENIED' | 'MALFORMED_MESSAGE'>;

const MAX_CONTENT = 2_000;

/**
 * The dashboard: four system sections written only by the system dashboard app, one
 * content item per app per mode, head-up rotation through the main-mode items, rendered by the cloud
 * as the `dashboard` view (never the main view).
 */
@Injectable({ scope: Scope.REQUEST })
export class DashboardManager {
  private mode: DashboardMode = 'main';
  private readonly sections: Record<DashboardSection, string> = {
    topLeft: '',
    topRight: '',
    bottomLeft: '',
    bottomRight: '',
  };
  private readonly main = new LazyMap<string, Item>();
  private readonly expanded = new LazyMap<string, Item>();
  private rotation = 0;
  private seq = 0;

  constructor(
    private readonly ctx: SessionContext,
    private readonly display: DisplayManager,
    private readonly connections: AppConnections,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    ctx.on('appStopped', this.onAppStopped, this);
    // The SDK reports mode 'none' until told; tell every app the mode as it connects.
    ctx.on('appRunning', this.onAppRunning, this);
    ctx.defer(this.dispose, this);
  }

  private onAppStopped({ packageName }: SessionEvents['appStopped']): void {
    this.cleanupApp(packageName);
  }

  private onAppRunning({ packageName }: SessionEvents['appRunning']): void {
    this.sendMode(packageName);
  }

  private dispose(): void {
    this.main.clear();
    this.expanded.clear();
  }

  get currentMode(): DashboardMode {
    return this.mode;
  }

  /** Content and modes as `dashboard_content_update` carries them after its check (`src/protocol/app-checks.ts`). */
  contentUpdate(
    packageName: string,
    content: AppToCloud['dashboard_content_update']['content'],
    modes: AppToCloud['dashboard_content_update']['modes'],
  ): DashboardResult {
    const text = typeof content === 'string' ? content : layoutText(content as Layout);
    const wanted = modes.filter((m): m is DashboardMode => DASHBOARD_MODES.includes(m as DashboardMode));
    // Only `always_on` entries (the check lets those through): the always-on view was never rendered.
    if (wanted.length === 0) return { ok: true };
    const item = { text: text.slice(0, MAX_CONTENT), at: ++this.seq };
    for (const m of wanted) (m === 'main' ? this.main : this.expanded).set(packageName, item);
    if (wanted.includes(this.mode)) this.render();
    return { ok: true };
  }

  modeChange(packageName: string, mode: DashboardMode): DashboardResult {
    if (packageName !== this.config.systemDashboardPackage)
      return {
        ok: false,
        code: 'PERMISSION_DENIED',
        message: 'Only the system dashboard app may change the dashboard mode',
      };
    this.mode = mode;
    for (const rt of this.connections.values()) this.sendMode(rt.packageName);
    this.render();
    return { ok: true };
  }

  systemUpdate(packageName: string, section: DashboardSection, content: string): DashboardResult {
    if (packageName !== this.config.systemDashboardPackage)
      return {
        ok: false,
        code: 'PERMISSION_DENIED',
        message: 'Only the system dashboard app may write the system sections',
      };
    this.sections[section] = content.slice(0, MAX_CONTENT);
    this.render();
    return { ok: true };
  }

  /** Head up advances the main-mode rotation (only with more than one item). */
  onHeadUp(): void {
    if (this.mode !== 'main' || this.main.size < 2) return;
    this.rotation = (this.rotation + 1) % this.main.size;
    this.render();
  }

  private cleanupApp(packageName: string): void {
    const hadMain = this.main.delete(packageName);
    const hadExpanded = this.expanded.delete(packageName);
    if (this.rotation >= this.main.size) this.rotation = 0;
    if (hadMain || hadExpanded) this.render();
  }

  private sendMode(packageName: string): void {
    this.connections.sendJson(packageName, {
      type: 'dashboard_mode_changed',
      mode: this.mode,
      sessionId: appSessionId(this.ctx.userId, packageName),
      timestamp: new Date().toISOString(),
    });
  }

  /** The text of the current main-mode item: newest first, at the rotation index. */
  private mainItemText(): string {
    const items = [...this.main.values()].sort((a, b) => b.at - a.at);
    if (items.length === 0) return '';
    return items[this.rotation % items.length]!.text;
  }

  render(): void {
    const s = this.sections;
    let layout: Layout;
    if (this.mode === 'main') {
      const appText = this.mainItemText();
      const topText = s.bottomLeft ? `${s.topLeft}\n${s.bottomLeft}` : s.topLeft;
      const bottomText = s.bottomRight ? `${s.topRight}\n${s.bottomRight}\n\n${appText}` : `${s.topRight}\n${appText}`;
      layout = { layoutType: 'double_text_wall', topText, bottomText };
    } else {
      const newest = [...this.expanded.values()].sort((a, b) => b.at - a.at)[0];
      layout = {
        layoutType: 'text_wall',
        text: `${s.topLeft} | ${s.topRight}\n${newest ? newest.text : 'No expanded content available'}`,
      };
    }
    this.display.handleDisplayRequest({
      type: 'display_event',
      packageName: this.config.systemDashboardPackage,
      view: 'dashboard',
      layout,
      timestamp: new Date().toISOString(),
    });
  }

  describe(): {
    mode: DashboardMode;
    sections: Record<DashboardSection, string>;
    main: Record<string, string>;
    expanded: Record<string, string>;
  } {
    return {
      mode: this.mode,
      sections: { ...this.sections },
      main: Object.fromEntries([...this.main].map(([k, v]) => [k, v.text])),
      expanded: Object.fromEntries([...this.expanded].map(([k, v]) => [k, v.text])),
    };
  }
}
