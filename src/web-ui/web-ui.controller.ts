import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Controller, Get, NotFoundException, Param, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { CAPABILITY_PROFILES } from '../device/capability-profiles.js';
import { APP_TYPES, HARDWARE_TYPES, PERMISSION_TYPES } from '../persistence/persistence.types.js';
import { DEFAULT_MODEL, DEVICE_MODELS } from '../simulator/device-models.js';

/**
 * `public/` at the repository root: the same relative path from src/web-ui (tests, tsx) and from
 * dist/web-ui (npm start). The pages are plain HTML/CSS/JS, so there is nothing to build.
 */
export const PUBLIC_DIR = fileURLToPath(new URL('../../public/', import.meta.url));

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.html': 'text/html; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
};

/**
 * Scripts only from this origin; sockets to it; media from anywhere because apps ask the glasses
 * to play audio from their own URLs. No framing, no referrer (a link carries its token in the fragment).
 */
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "media-src 'self' data: blob: http: https:",
  "connect-src 'self' ws: wss:",
  "worker-src 'self' blob:",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

export interface ModelMeta {
  name: string;
  aliases: readonly string[];
  hasDisplay: boolean;
  hasMicrophone: boolean;
  hasButton: boolean;
  hasCamera: boolean;
  touchGestures: readonly string[];
  display: { width: number; height: number; maxTextLines: number; color: string; canDisplayBitmap: boolean } | null;
}

export function modelMeta(): ModelMeta[] {
  return Object.values(DEVICE_MODELS).map((m) => {
    const d = CAPABILITY_PROFILES[m.name]?.display;
    return {
      name: m.name,
      aliases: m.aliases,
      hasDisplay: m.hasDisplay,
      hasMicrophone: m.hasMicrophone,
      hasButton: m.hasButton,
      hasCamera: m.hasCamera,
      touchGestures: m.touchGestures,
      display: d
        ? {
            width: d.resolution?.width ?? 640,
            height: d.resolution?.height ?? 200,
            maxTextLines: d.maxTextLines ?? 5,
            color: d.color ?? 'green',
            canDisplayBitmap: d.canDisplayBitmap ?? false,
          }
        : null,
    };
  });
}

/** Serves `/simulator`, `/console`, their assets under `/ui/` and the metadata they need. */
@ApiExcludeController()
@Controller()
export class WebUiController {
  private readonly assets: Set<string>;

  constructor() {
    const dir = join(PUBLIC_DIR, 'ui');
    this.assets = new Set(
      existsSync(dir) ? readdirSync(dir).filter((f) => /^[a-z0-9][a-z0-9.-]*\.(js|css|svg|png)$/.test(f)) : [],
    );
  }

  @Get('simulator')
  simulator(@Res() res: Response): void {
    this.send(res, 'simulator.html');
  }

  @Get('console')
  console(@Res() res: Response): void {
    this.send(res, 'console.html');
  }

  @Get('ui/:file')
  asset(@Param('file') file: string, @Res() res: Response): void {
    if (!this.assets.has(file))
      throw new NotFoundException({ statusCode: 404, code: 'NOT_FOUND', message: `No such asset: ${file}` });
    this.send(res, join('ui', file));
  }

  @Get('api/simulator/meta')
  meta(): {
    defaultModel: string;
    models: ModelMeta[];
    appTypes: readonly string[];
    permissionTypes: readonly string[];
    hardwareTypes: readonly string[];
  } {
    return {
      defaultModel: DEFAULT_MODEL,
      models: modelMeta(),
      appTypes: APP_TYPES,
      permissionTypes: PERMISSION_TYPES,
      hardwareTypes: HARDWARE_TYPES,
    };
  }

  private send(res: Response, rel: string): void {
    const path = join(PUBLIC_DIR, rel);
    if (!existsSync(path))
      throw new NotFoundException({
        statusCode: 404,
        code: 'NOT_FOUND',
        message: `The web UI is not installed (${rel} missing under ${PUBLIC_DIR})`,
      });
    const ext = rel.slice(rel.lastIndexOf('.'));
    res.setHeader('Content-Type', TYPES[ext] ?? 'application/octet-stream');
    res.setHeader('Cache-Control', 'no-cache');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    if (ext === '.html') {
      res.setHeader('Content-Security-Policy', CSP);
      res.setHeader('X-Frame-Options', 'DENY');
    }
    // `root` keeps the dotfiles rule to the relative part (the checkout itself may sit under a dot folder).
    res.sendFile(rel, { root: PUBLIC_DIR, dotfiles: 'deny' }, (err) => {
      if (err && !res.headersSent) res.status(404).json({ statusCode: 404, code: 'NOT_FOUND', message: 'Not found' });
    });
  }
}
