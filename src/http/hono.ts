/**
 * Hono 4 middleware (`lockwatch/hono`): `app.use(honoLockWatch(options))`,
 * with the request's context in `c.get('lockwatch')`. The client address
 * comes from @hono/node-server's incoming request, Bun's `requestIP` or
 * Deno's `remoteAddr`, or your `remoteAddress` function. Latency in finish
 * hooks runs until the handler returns its Response (a streamed body may
 * still be flowing).
 */
import type { Context, MiddlewareHandler } from 'hono';
import { InvalidOptionError } from '../domain/config/errors.ts';
import { contextOfFailedAdmission, toPipeline } from './pipeline.ts';
import { type HeaderRecord, headersFromFetch, pathOf } from './request.ts';
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
    let admission: Admission;
    if (admitted instanceof Promise) {
      try {
        admission = await admitted;
      } catch (error) {
        // Hono's error handler answers; as for a handler's error, the record says 500.
        const context = contextOfFailedAdmission(request);
        if (context !== undefined) {
          c.set('lockwatch', context);
          pipeline.finish(context, 500);
        }
        throw error;
      }
    } else admission = admitted;
    const { context, reply } = admission;
    c.set('lockwatch', context);
    if (reply !== undefined) {
      pipeline.finish(context, reply.status);
      return c.body(reply.body, reply.status as 429, reply.headers);
    }
    for (const name in admission.headers) c.header(name, admission.headers[name]);
    try {
      await next();
    } catch (error) {
      pipeline.finish(context, 500);
      throw error;
    }
    pipeline.finish(context, c.res.status);
  };
}

export type * from './types.ts';
