/**
 * Hono 4 middleware (`lockwatch/hono`): `app.use(honoLockWatch(options))`,
 * with the request's context in `c.get('lockwatch')`. The client address
 * comes from @hono/node-server's incoming request, Bun's `requestIP` or
 * Deno's `remoteAddr`, or your `remoteAddress` function. On
 * @hono/node-server, finish hooks see the response as Node sent it (status,
 * latency to its end, an aborted request as 499), as with the other
 * adapters; elsewhere latency runs until the handler returns its Response.
 */
import type { ServerResponse } from 'node:http';
import type { Context, MiddlewareHandler } from 'hono';
import { InvalidOptionError } from '../domain/config/errors.ts';
import { contextOfFailedAdmission, toPipeline } from './pipeline.ts';
import { type HeaderRecord, headersFromFetch, pathOf } from './request.ts';
import { finishWith } from './response-end.ts';
import type { Admission, HttpOptions, HttpPipeline, LockWatchContext } from './types.ts';

declare module 'hono' {
  interface ContextVariableMap {
    /** LockWatch's context of this request (set by `honoLockWatch`). */
    lockwatch: LockWatchContext;
  }
}

/** Options of the middleware itself. */
export interface HonoLockWatchOptions {
  /** The client's socket address; found for @hono/node-server, Bun and Deno by default. */
  readonly remoteAddress?: ((c: Context) => string | undefined) | undefined;
}

interface NodeBindings {
  readonly incoming?: {
    readonly headers?: HeaderRecord;
    readonly socket?: { readonly remoteAddress?: string };
  };
  readonly outgoing?: unknown;
}

interface RuntimeBindings extends NodeBindings {
  readonly server?: NodeBindings;
  readonly requestIP?: (request: Request) => { readonly address?: string } | null | undefined;
  readonly remoteAddr?: { readonly hostname?: string };
}

function nodeIncoming(c: Context): NodeBindings['incoming'] {
  const env = c.env as RuntimeBindings | undefined;
  return env?.server?.incoming ?? env?.incoming;
}

/** The Node response @hono/node-server writes, when running there. */
function nodeOutgoing(c: Context): ServerResponse | undefined {
  const env = c.env as RuntimeBindings | undefined;
  const outgoing = env?.server?.outgoing ?? env?.outgoing;
  return typeof outgoing === 'object' && outgoing !== null && 'writableEnded' in outgoing
    ? (outgoing as ServerResponse)
    : undefined;
}

function defaultRemoteAddress(c: Context): string | undefined {
  const incoming = nodeIncoming(c);
  if (incoming !== undefined) return incoming.socket?.remoteAddress;
  const env = c.env as RuntimeBindings | undefined;
  if (typeof env?.requestIP === 'function') return env.requestIP(c.req.raw)?.address;
  return env?.remoteAddr?.hostname;
}

/** Creates the Hono middleware from pipeline options (validated now) or a pipeline. */
export function honoLockWatch(
  source: HttpOptions<Context> | HttpPipeline<Context>,
  options: HonoLockWatchOptions = {},
): MiddlewareHandler {
  const remoteAddress = options.remoteAddress ?? defaultRemoteAddress;
  if (typeof remoteAddress !== 'function') {
    throw new InvalidOptionError(
      'remoteAddress',
      remoteAddress,
      'a function (c) => string | undefined',
    );
  }
  const pipeline = toPipeline(source);
  let warned = false;
  return async (c, next) => {
    const address = remoteAddress(c);
    if (address === undefined && !warned) {
      // Client-IP keys give no subject without an address: say so once rather than limit nothing silently.
      warned = true;
      console.warn(
        'lockwatch/hono: no client address for a request, so client-IP limits do not apply to it; pass `remoteAddress` for your runtime.',
      );
    }
    const request = {
      method: c.req.method,
      path: pathOf(c.req.url),
      remoteAddress: address,
      // Node's own header record when running on @hono/node-server: no copy.
      headers: nodeIncoming(c)?.headers ?? headersFromFetch(c.req.raw.headers),
      raw: c,
    };
    const admitted = pipeline.admit(request);
    // On @hono/node-server the response Node writes is known: its end is reported as the other
    // adapters report it (the status sent, latency to the last byte, a client that went away).
    const outgoing = nodeOutgoing(c);
    const ended = (context: LockWatchContext, status: number): void => {
      if (outgoing !== undefined) finishWith(pipeline as HttpPipeline<never>, outgoing, context);
      else pipeline.finish(context, status);
    };
    let admission: Admission;
    if (admitted instanceof Promise) {
      try {
        admission = await admitted;
      } catch (error) {
        // Hono's error handler answers; elsewhere than on Node the record says 500.
        const context = contextOfFailedAdmission(request);
        if (context !== undefined) {
          c.set('lockwatch', context);
          ended(context, 500);
        }
        throw error;
      }
    } else admission = admitted;
    const { context, reply } = admission;
    c.set('lockwatch', context);
    if (reply !== undefined) {
      ended(context, reply.status);
      return c.body(reply.body, reply.status as 429, reply.headers);
    }
    const { headers } = admission;
    for (const name in headers) c.header(name, headers[name]);
    // Before the handler runs: a client may go away while it does.
    if (outgoing !== undefined) finishWith(pipeline as HttpPipeline<never>, outgoing, context);
    try {
      await next();
    } catch (error) {
      if (outgoing === undefined) pipeline.finish(context, 500);
      throw error;
    }
    // A handler that returns a Response of its own replaces the one the fields were set on: it
    // has none of them. One that is missing only some had them removed on purpose.
    let replaced: boolean | undefined;
    for (const name in headers) {
      if (c.res.headers.has(name)) {
        replaced = false;
        break;
      }
      replaced = true;
    }
    if (replaced === true) {
      for (const name in headers) c.header(name, headers[name]);
    }
    if (outgoing === undefined) pipeline.finish(context, c.res.status);
  };
}

export type * from './types.ts';
