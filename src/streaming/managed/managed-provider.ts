import { randomBytes } from 'node:crypto';

export interface Ingest {
  /** Single-use stream key; the ingest refuses anything else. Only the glasses are given it. */
  key: string;
  /** The stream's public name in the playback URLs; it reveals nothing of the key. */
  playbackName: string;
  /** What the glasses publish to. */
  rtmpUrl: string;
  hlsUrl: string;
  dashUrl: string;
}

export interface OutputView {
  url: string;
  name?: string;
  status: 'active' | 'error' | 'stopped';
  error?: string;
}

/** Provisions an ingest for a user's managed stream; one folder per provider implementation. */
export interface ManagedStreamProvider {
  readonly name: string;
  provision(userId: string): Ingest;
  /** Re-streaming to third parties, per destination; unsupported ones are reported, never dropped. */
  outputs(destinations: ReadonlyArray<{ url: string; name?: string }>): OutputView[];
}

/**
 * nginx with the RTMP module: `rtmp://host/live/<key>` in, HLS `<playbackName>.m3u8` and DASH
 * `<playbackName>.mpd` out over nginx's HTTP server. `on_publish` / `on_publish_done` call back into the
 * cloud, which accepts only a live key, renames the stream to its playback name (a redirect answer) and
 * learns the exact moment the stream is up; deploy/nginx's config relays the renamed stream to the
 * application that writes HLS and DASH, so no playback URL or playlist carries the key.
 */
export class NginxRtmpProvider implements ManagedStreamProvider {
  readonly name = 'nginx-rtmp';

  constructor(private readonly cfg: { ingestUrl: string; hlsBaseUrl: string; dashBaseUrl: string }) {}

  provision(): Ingest {
    const key = randomBytes(16).toString('hex');
    const playbackName = `s-${randomBytes(12).toString('hex')}`;
    return {
      key,
      playbackName,
      rtmpUrl: `${this.cfg.ingestUrl}/${key}`,
      hlsUrl: `${this.cfg.hlsBaseUrl}/${playbackName}.m3u8`,
      dashUrl: `${this.cfg.dashBaseUrl}/${playbackName}.mpd`,
    };
  }

  outputs(destinations: ReadonlyArray<{ url: string; name?: string }>): OutputView[] {
    return destinations.map((d) => ({
      url: d.url,
      ...(d.name ? { name: d.name } : {}),
      status: 'error' as const,
      error:
        'The nginx-rtmp provider does not re-stream to other destinations (add a `push` directive to nginx.conf to do it there)',
    }));
  }
}
