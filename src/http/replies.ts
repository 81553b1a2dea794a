/**
 * The refusals the pipeline sends itself, in the seed's JSON
 * (`{"error":"rate_limit_exceeded","retry_after":N}`) or as RFC 9457 problem
 * details (`application/problem+json`, with the same `error` code and
 * `retry_after` as extension members).
 */
import type { ErrorFormat, HttpReply } from './types.ts';

/** Stable `error` codes of the pipeline's refusals. */
export type RefusalCode = 'rate_limit_exceeded' | 'cost_exceeds_limit' | 'service_unavailable';

/** How refusal bodies are written. */
export interface ReplyFormat {
  /** `json` or `problem+json`. */
  readonly errorFormat: ErrorFormat;
  /** Problem `type` is this base followed by the code; `about:blank` when undefined. */
  readonly problemTypeBase: string | undefined;
}

const statusOf: Record<RefusalCode, number> = {
  rate_limit_exceeded: 429,
  cost_exceeds_limit: 413,
  service_unavailable: 503,
};

const titleOf: Record<RefusalCode, string> = {
  rate_limit_exceeded: 'Too Many Requests',
  cost_exceeds_limit: 'Content Too Large',
  service_unavailable: 'Service Unavailable',
};

/**
 * A refusal reply. `fields` are the code's members in the JSON body (such as
 * `retry_after`) and extension members in problem details; `detail` is the
 * problem's human-readable explanation. `headers` is completed in place.
 */
export function refusal(
  format: ReplyFormat,
  code: RefusalCode,
  fields: Readonly<Record<string, number>>,
  detail: string,
  headers: Record<string, string>,
): HttpReply {
  const status = statusOf[code];
  if (format.errorFormat === 'json') {
    headers['content-type'] = 'application/json';
    return { status, headers, body: JSON.stringify({ error: code, ...fields }) };
  }
  headers['content-type'] = 'application/problem+json';
  const problem = {
    type: format.problemTypeBase === undefined ? 'about:blank' : format.problemTypeBase + code,
    title: titleOf[code],
    status,
    detail,
    error: code,
    ...fields,
  };
  return { status, headers, body: JSON.stringify(problem) };
}
