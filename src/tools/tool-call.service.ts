import { Inject, Injectable } from '@nestjs/common';
import { CloudError, errorMessage } from '../common/cloud-error.js';
import { APP_CONFIG, type AppConfig } from '../config/config.types.js';
import type { AppRecord, AppTool } from '../persistence/persistence.types.js';

export type ToolParameterValue = string | number | boolean;

export interface ToolCallOutcome {
  toolId: string;
  packageName: string;
  userId: string;
  /** What the app's `onToolCall` returned (null when it returned nothing). */
  reply: unknown;
}

/** The largest answer read from an app's `/tool`. */
const MAX_ANSWER_BYTES = 1024 * 1024;

/**
 * Calls an app's tool the way the SDK expects it: `POST {publicUrl}/tool` with the SDK's ToolCall body
 * `{toolId, toolParameters, timestamp, userId}`; the SDK answers `{status:'success', reply}` with what
 * `onToolCall` returned, or 500 `{status:'error', message}` when it threw.
 */
@Injectable()
export class ToolCallService {
  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  /** Checks the values against the tool's declared parameters: types, enums, required ones, no strangers. */
  checkParameters(tool: AppTool, values: Record<string, unknown>): string[] {
    const declared = tool.parameters ?? {};
    const problems: string[] = [];
    for (const [name, value] of Object.entries(values)) {
      const p = Object.hasOwn(declared, name) ? declared[name] : undefined;
      if (!p) {
        problems.push(`${name} is not a parameter of ${tool.id}`);
        continue;
      }
      if (typeof value !== p.type) problems.push(`${name} must be a ${p.type}`);
      else if (p.enum && !p.enum.includes(String(value))) problems.push(`${name} must be one of ${p.enum.join(', ')}`);
    }
    for (const [name, p] of Object.entries(declared))
      if (p.required && !Object.hasOwn(values, name)) problems.push(`${name} is required`);
    return problems;
  }

  async call(
    app: AppRecord,
    tool: AppTool,
    userId: string,
    toolParameters: Record<string, ToolParameterValue>,
  ): Promise<ToolCallOutcome> {
    const url = `${app.publicUrl}/tool`;
    const body = { toolId: tool.id, toolParameters, timestamp: new Date().toISOString(), userId };
    let res: Response;
    let text: string;
    try {
      res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.config.toolCallTimeoutMs),
      });
      text = await readCapped(res, MAX_ANSWER_BYTES);
    } catch (err) {
      const what =
        (err as Error).name === 'TimeoutError'
          ? `no answer within ${this.config.toolCallTimeoutMs} ms`
          : errorMessage((err as { cause?: unknown }).cause ?? err);
      throw new CloudError('TOOL_CALL_FAILED', `POST ${url} failed: ${what}`, { stage: 'REQUEST' });
    }
    const answer = parseAnswer(text);
    if (res.ok && answer && answer.status === 'success')
      return { toolId: tool.id, packageName: app.packageName, userId, reply: answer.reply ?? null };
    const said = answer && typeof answer.message === 'string' ? `: ${answer.message.slice(0, 500)}` : '';
    throw new CloudError(
      'TOOL_CALL_FAILED',
      `${app.packageName} answered the tool call with HTTP ${res.status}${said}`,
      {
        stage: 'ANSWER',
        status: res.status,
      },
    );
  }
}

function parseAnswer(text: string): { status?: unknown; reply?: unknown; message?: unknown } | null {
  try {
    const parsed: unknown = JSON.parse(text);
    return parsed && typeof parsed === 'object' ? (parsed as { status?: unknown }) : null;
  } catch {
    return null;
  }
}

async function readCapped(res: Response, max: number): Promise<string> {
  const reader = res.body?.getReader();
  if (!reader) return '';
  const parts: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > max) {
      await reader.cancel();
      throw new Error(`the answer is larger than ${max} bytes`);
    }
    parts.push(value);
  }
  return Buffer.concat(parts).toString('utf8');
}
