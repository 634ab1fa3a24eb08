import { Inject, Injectable, Scope } from '@nestjs/common';
import { AppConnections } from '../app-connections/app-connections.js';
import { appSessionId } from '../common/app-session-id.js';
import { APP_CONFIG, type AppConfig } from '../config/config.types.js';
import { DisplayManager } from '../display/display-manager.js';
import { layoutText, type Layout } from '../display/display.types.js';
import { SessionContext } from '../session-core/session-context.js';
import type { Result } from '../common/result.js';

export type DashboardMode = 'main' | 'expanded';
export const DASHBOARD_MODES: readonly DashboardMode[] = ['main', 'expanded'];
export const DASHBOARD_SECTIONS = ['topLeft', 'topRight', 'bottomLeft', 'bottomRight'] as const;
export type DashboardSection = (typeof DASHBOARD_SECTIONS)[number];

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
  private readonly main = new Map<string, Item>();
  private readonly expanded = new Map<string, Item>();
  private rotation = 0;
  private seq = 0;

  constructor(
    private readonly ctx: SessionContext,
    private readonly display: DisplayManager,
    private readonly connections: AppConnections,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    ctx.on('appStopped', ({ packageName }) => this.cleanupApp(packageName));
    // The SDK reports mode 'none' until told; tell every app the mode as it connects.
    ctx.on('appRunning', ({ packageName }) => this.sendMode(packageName));
    ctx.defer(() => {
      this.main.clear();
      this.expanded.clear();
    });
  }

  get currentMode(): DashboardMode {
    return this.mode;
  }

  contentUpdate(packageName: string, content: unknown, modes: unknown): DashboardResult {
    const text =
      typeof content === 'string'
        ? content
        : content && typeof content === 'object'
          ? layoutText(content as Layout)
          : null;
    if (text === null)
      return { ok: false, code: 'MALFORMED_MESSAGE', message: 'dashboard_content_update needs string content' };
    const list: unknown[] = Array.isArray(modes) ? modes : ['main'];
    const wanted = list.filter((m): m is DashboardMode => DASHBOARD_MODES.includes(m as DashboardMode));
    if (wanted.length === 0) {
      // `always_on` entries are ignored (the always-on view was never rendered).
      if (list.length > 0 && list.every((m) => m === 'always_on')) return { ok: true };
      return { ok: false, code: 'MALFORMED_MESSAGE', message: 'modes must include "main" or "expanded"' };
    }
    const item = { text: text.slice(0, MAX_CONTENT), at: ++this.seq };
    for (const m of wanted) (m === 'main' ? this.main : this.expanded).set(packageName, item);
    if (wanted.includes(this.mode)) this.render();
    return { ok: true };
  }

  modeChange(packageName: string, mode: unknown): DashboardResult {
    if (packageName !== this.config.systemDashboardPackage)
      return {
        ok: false,
        code: 'PERMISSION_DENIED',
        message: 'Only the system dashboard app may change the dashboard mode',
      };
    if (!DASHBOARD_MODES.includes(mode as DashboardMode))
      return { ok: false, code: 'MALFORMED_MESSAGE', message: 'mode must be "main" or "expanded"' };
    this.mode = mode as DashboardMode;
    for (const rt of this.connections.values()) this.sendMode(rt.packageName);
    this.render();
    return { ok: true };
  }

  systemUpdate(packageName: string, section: unknown, content: unknown): DashboardResult {
    if (packageName !== this.config.systemDashboardPackage)
      return {
        ok: false,
        code: 'PERMISSION_DENIED',
        message: 'Only the system dashboard app may write the system sections',
      };
    if (!DASHBOARD_SECTIONS.includes(section as DashboardSection))
      return {
        ok: false,
        code: 'MALFORMED_MESSAGE',
        message: `section must be one of ${DASHBOARD_SECTIONS.join(', ')}`,
      };
    if (typeof content !== 'string')
      return { ok: false, code: 'MALFORMED_MESSAGE', message: 'content must be a string' };
    this.sections[section as DashboardSection] = content.slice(0, MAX_CONTENT);
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
