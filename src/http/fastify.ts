/**
 * Fastify 5 plugin (`lockwatch/fastify`): `app.register(fastifyLockWatch, options)`
 * runs the pipeline in an `onRequest` hook (before the body is read) for
 * every route registered after it, with per-route settings in the route's
 * `config.lockwatch` (or `false` to skip rate limiting), and sets
 * `request.lockwatch`. Bad route settings fail when the route is added.
 */
import type { ServerResponse } from 'node:http';
import type { FastifyPluginCallback, FastifyReply, FastifyRequest } from 'fastify';
import { InvalidOptionError } from '../domain/config/errors.ts';
import { contextOfFailedAdmission, toPipeline } from './pipeline.ts';
import { pathOf } from './request.ts';
import { finishWith } from './response-end.ts';
import type {
  Admission,
  HttpOptions,
  HttpPipeline,
  LockWatchContext,
  RouteSettings,
} from './types.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** LockWatch's context of this request; null before the plugin's hook ran. */
    lockwatch: LockWatchContext | null;
  }
  interface FastifyContextConfig {
    /** LockWatch settings of this route; `false` skips rate limiting on it. */
    lockwatch?: RouteSettings<FastifyRequest> | false;
  }
}

/** Options of the plugin: the pipeline's options, or a ready `pipeline`, plus the hook to run in. */
export interface FastifyLockWatchOptions extends HttpOptions<FastifyRequest> {
  /** A pipeline made elsewhere (then no pipeline options here). */
  readonly pipeline?: HttpPipeline<FastifyRequest> | undefined;
  /**
   * `onRequest` (default: refused requests cost no body parsing) or
   * `preHandler` (key functions and costs may read the parsed body).
   */
  readonly hook?: 'onRequest' | 'preHandler' | undefined;
}

// Keys Fastify's register() itself understands; they reach the plugin too.
const registerKeys = new Set(['prefix', 'logLevel', 'logSerializers']);

function pipelineOf(options: FastifyLockWatchOptions): HttpPipeline<FastifyRequest> {
  const { pipeline, hook: _hook, ...rest } = options;
  const own = Object.fromEntries(
    Object.entries(rest).filter(([key]) => !registerKeys.has(key)),
  ) as HttpOptions<FastifyRequest>;
  if (pipeline === undefined) return toPipeline(own);
  const extra = Object.keys(own)[0];
  if (extra !== undefined) {
    throw new InvalidOptionError(
      extra,
      own[extra as keyof typeof own],
      'no pipeline options when `pipeline` is given',
    );
  }
  return toPipeline(pipeline);
}

const plugin: FastifyPluginCallback<FastifyLockWatchOptions> = (fastify, options, done) => {
  const hook = options.hook ?? 'onRequest';
  let pipeline: HttpPipeline<FastifyRequest>;
  try {
    if (hook !== 'onRequest' && hook !== 'preHandler') {
      throw new InvalidOptionError('hook', hook, "'onRequest' or 'preHandler'");
    }
    pipeline = pipelineOf(options);
  } catch (error) {
    done(error as Error);
    return;
  }
  fastify.decorateRequest('lockwatch', null);
  // Fastify builds a fresh routeOptions object per read: read it only once a route has settings.
  let routesConfigured = false;

  fastify.addHook('onRoute', (route) => {
    const settings = (
      route.config as { lockwatch?: RouteSettings<FastifyRequest> | false } | undefined
    )?.lockwatch;
    if (settings !== undefined) {
      routesConfigured = true;
      pipeline.prepare(settings, `config.lockwatch of route ${String(route.method)} ${route.url}`);
    }
  });

  /** Applies an admission: a refusal is sent here, otherwise the route goes on. */
  const proceed = (
    request: FastifyRequest,
    reply: FastifyReply,
    admission: Admission,
    done: (error?: Error) => void,
  ): void => {
    request.lockwatch = admission.context;
    finishWith(pipeline as HttpPipeline<never>, reply.raw as ServerResponse, admission.context);
    const refusal = admission.reply;
    try {
      if (refusal !== undefined) {
        // A Buffer is sent as it is: Fastify would add a charset to a string's content type.
        // The reply is sent, so the request goes no further: done is not called.
        reply.code(refusal.status).headers(refusal.headers).send(Buffer.from(refusal.body));
        return;
      }
      reply.headers(admission.headers);
    } catch (error) {
      done(error as Error);
      return;
    }
    done();
  };

  // A callback hook, and no promise when the pipeline admits at once: each would cost a microtask.
  fastify.addHook(
    hook,
    (request: FastifyRequest, reply: FastifyReply, done: (error?: Error) => void) => {
      const incoming = {
        method: request.method,
        path: pathOf(request.url),
        remoteAddress: request.raw.socket?.remoteAddress,
        headers: request.headers,
        raw: request,
      };
      const admitted = pipeline.admit(
        incoming,
        routesConfigured ? request.routeOptions.config?.lockwatch : undefined,
      );
      if (admitted instanceof Promise) {
        admitted.then(
          (admission) => proceed(request, reply, admission, done),
          (error: unknown) => {
            // The error response Fastify sends still ends the request's context.
            const context = contextOfFailedAdmission(incoming);
            if (context !== undefined) {
              request.lockwatch = context;
              finishWith(pipeline as HttpPipeline<never>, reply.raw as ServerResponse, context);
            }
            done(error as Error);
          },
        );
      } else proceed(request, reply, admitted, done);
    },
  );

  // The response's end is reported by finishWith: no onResponse or onRequestAbort hook, whose
  // listeners per request measured at several µs.
  done();
};

// What fastify-plugin does: no encapsulation (the hooks apply to the whole
// app), a name in errors and the Fastify versions supported.
Object.assign(plugin, {
  [Symbol.for('skip-override')]: true,
  [Symbol.for('fastify.display-name')]: 'lockwatch',
  [Symbol.for('plugin-meta')]: { name: 'lockwatch', fastify: '5.x' },
});

/** The Fastify plugin; register it before the routes it protects. */
export const fastifyLockWatch: FastifyPluginCallback<FastifyLockWatchOptions> = plugin;

export type * from './types.ts';
