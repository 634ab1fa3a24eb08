export const NGINX: string;
export const NJS_MODULE_PATHS: string[];
/** The njs module's path; throws when nginx or the module is missing. */
export function findNjsModule(): string;
/** Writes `<workDir>/nginx.conf` for the upstreams (host:port) and returns its path. */
export function writeClusterConf(options: {
  workDir: string;
  listen: string | number;
  upstreams: string[];
  failTimeoutS?: number;
}): Promise<string>;
