import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CHILD = fileURLToPath(new URL('./sdk-webview-app.mjs', import.meta.url));

export interface SdkWebviewProcess {
  url: string;
  /** The user the app's SDK middleware accepts for this signed user token, or null when it refuses it. */
  whoIs(signedUserToken: string): Promise<string | null>;
  close(): Promise<void>;
}

/**
 * A real SDK app server in a child process whose MENTRAOS_CLOUD_USER_TOKEN_PUBLIC_KEY is `publicKeyPem`
 * (test/support/sdk-webview-app.mjs).
 */
export async function spawnSdkWebviewApp(
  packageName: string,
  apiKey: string,
  publicKeyPem: string,
): Promise<SdkWebviewProcess> {
  const child: ChildProcess = spawn(process.execPath, [CHILD], {
    env: {
      ...process.env,
      PACKAGE_NAME: packageName,
      API_KEY: apiKey,
      MENTRAOS_CLOUD_USER_TOKEN_PUBLIC_KEY: publicKeyPem,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the SDK app did not start: ${output}`)), 20_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const m = /listening (\d+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the SDK app exited (${code}): ${output}`));
    });
  });
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    async whoIs(token) {
      const res = await fetch(`${url}/whoami?aos_signed_user_token=${encodeURIComponent(token)}`);
      return ((await res.json()) as { userId: string | null }).userId;
    },
    async close() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
