/**
 * Types of the framework-neutral HTTP pipeline. Every framework adapter turns
 * its request into an {@link HttpRequest}, asks the pipeline for an
 * {@link Admission}, and reports the end of the response; everything between
 * (keys, limits, hooks, replies) lives here once, for all frameworks.
 */
import type { KeyFunction, RequestLike, TrustProxy } from '../domain/ratelimit/keys.ts';
import type { RateLimiter } from '../domain/ratelimit/limiter.ts';
import type { Decision } from '../domain/ratelimit/types.ts';
import type { Clock } from '../ports/clock.ts';

/**
 * The framework-neutral view of one request. `N` is the framework's own
 * request object (`raw`), for key functions and hooks that need more than
 * method, path, address and headers (a parsed body, a session).
 */
export interface HttpRequest<N = unknown> extends RequestLike {
  /** HTTP method as received (Node gives it upper case). */
  readonly method: string;
  /** Path of the request target, without the query string. */
  readonly path: string;
  /** The framework's request object: Express `req`, Fastify `request`, Hono `Context`, `IncomingMessage`. */
  readonly raw: N;
}

/** A complete response the pipeline wants sent instead of calling the handler. */
export interface HttpReply {
  /** Status code. */
  readonly status: number;
  /** Response headers, names in their canonical case. */
  readonly headers: Readonly<Record<string, string>>;
  /** Serialized body (JSON text). */
  readonly body: string;
}

/** Who the request is, as a guard established it. */
export interface Principal {
  /** The user id (the token's `sub`), when the credential names a user. */
  readonly userId?: string | undefined;
  /** Verified claims of the credential. */
  readonly claims?: Readonly<Record<string, unknown>> | undefined;
  /** Session id (the token's `sid`), when there is one. */
  readonly sessionId?: string | undefined;
}

/** One limit's check of one subject. */
export interface LimitCheck {
  /** Name of the limit rule (`default` for the `limiter` shorthand). */
  readonly limit: string;
  /** The subject that was checked, such as `ip:203.0.113.7`. */
  readonly subject: string;
  /** Units asked for; undefined when the limiter's own default cost applied. */
  readonly cost: number | undefined;
  /** The store's decision for this subject. */
  readonly decision: Decision;
}

/**
 * What LockWatch knows about a request, shared by the stages and visible to
 * handlers (`req.lockwatch`, `request.lockwatch`, `c.get('lockwatch')`, the
 * third argument of a node:http listener).
 */
export interface LockWatchContext {
  /** Request id: a valid incoming `X-Request-Id`, else a random UUID (made on first read). */
  readonly requestId: string;
  /** When the request reached LockWatch, epoch ms (pipeline clock). */
  readonly startedAt: number;
  /** HTTP method. */
  readonly method: string;
  /** Path without the query string. */
  readonly path: string;
  /** The client IP (canonical text, not grouped) under the `trustProxy` setting; undefined when the socket has no address. */
  readonly ip: string | undefined;
  /** Rate limiting did not run: a skip list or route setting matched. */
  readonly skipped: boolean;
  /** The deciding decision (the denying one, or the most constrained); undefined when no limit applied. */
  readonly decision: Decision | undefined;
  /** Every limit checked, in rule order. */
  readonly checks: readonly LimitCheck[];
  /** The request was refused by a rate limit (429, 413 or 503). */
  readonly rateLimited: boolean;
  /** Kinds of anomaly flagged by decision hooks (such as `burst`); empty when none. */
  readonly anomalies: readonly string[];
  /** Who the request is, once a guard admitted it. */
  readonly principal: Principal | undefined;
  /** Flags an anomaly of `kind` on this request (audit records `anomaly_detected`). */
  flagAnomaly(kind: string): void;
}

/** What a guard answers: admit (with who the request is) or refuse with a reply. */
export type GuardResult =
  | { readonly allow: true; readonly principal?: Principal | undefined }
  | { readonly allow: false; readonly reply: HttpReply };

/**
 * Runs after rate limiting admitted the request, before the handler: the JWT
 * guard plugs in here. A thrown error fails the request (the framework's
 * error handling), never admits it.
 */
export type Guard<N = unknown> = (
  request: HttpRequest<N>,
  context: LockWatchContext,
) => GuardResult | Promise<GuardResult>;

/**
 * Runs before rate limiting, on every request (allow and deny lists, bans):
 * `'skip'` exempts the request from rate limiting, a reply ends it before any
 * store is asked, undefined goes on. A thrown error is reported to
 * `hooks.onError` and the request goes on.
 */
export type BeforeLimitHook<N = unknown> = (
  request: HttpRequest<N>,
  context: LockWatchContext,
) => HttpReply | 'skip' | undefined | Promise<HttpReply | 'skip' | undefined>;

/**
 * Runs after the rate-limit decision, for admitted and refused requests alike
 * (anomaly detectors read `context.decision.observed` and flag anomalies). It
 * may end an admitted request by returning a reply (a temporary ban); on a
 * refused request the refusal stands. A thrown error is reported to
 * `hooks.onError` and the request goes on.
 */
export type DecisionHook<N = unknown> = (
  request: HttpRequest<N>,
  context: LockWatchContext,
) => HttpReply | undefined | Promise<HttpReply | undefined>;

/** The end of one response, as the finish hooks receive it. */
export interface FinishEvent {
  /** The request's context, final. */
  readonly context: LockWatchContext;
  /** The status code sent; 499 (nginx's "client closed request") when `aborted`. */
  readonly statusCode: number;
  /** From arrival at LockWatch to the response being finished, ms (monotonic). */
  readonly latencyMs: number;
  /** When the response finished, epoch ms (pipeline clock). */
  readonly finishedAt: number;
  /** The connection closed before the response was complete. */
  readonly aborted: boolean;
}

/** Receives every finished request (the audit record plugs in here); must not throw or block. */
export type FinishHook = (event: FinishEvent) => void;

/** Where guards, anomaly detectors and the audit log plug into the pipeline. */
export interface HttpHooks<N = unknown> {
  /** Run in order before rate limiting. */
  readonly beforeLimit?: BeforeLimitHook<N> | readonly BeforeLimitHook<N>[] | undefined;
  /** Run in order after each rate-limit decision. */
  readonly onDecision?: DecisionHook<N> | readonly DecisionHook<N>[] | undefined;
  /** The default guard of every route (routes may replace or disable it). */
  readonly guard?: Guard<N> | undefined;
  /** Run in order when each response finishes, whatever its status. */
  readonly onFinish?: FinishHook | readonly FinishHook[] | undefined;
  /** Receives errors of before-limit, decision and finish hooks and of refunds; `console.error` by default. */
  readonly onError?: ((error: unknown, context: LockWatchContext | undefined) => void) | undefined;
}

/** A request's cost in units: an integer from 0, or a function of the request. */
export type Cost<N = unknown> = number | ((request: HttpRequest<N>) => number | Promise<number>);

/** One limiter applied to one subject of each request. */
export interface LimitRule<N = unknown> {
  /** Name in `context.checks`; `limit<index>` by default. */
  readonly name?: string | undefined;
  /** The limiter (its policies and store); from `createRateLimiter`. */
  readonly limiter: RateLimiter;
  /** The subject of a request; the client IP (`clientIp` with the pipeline's `trustProxy`) by default. */
  readonly key?: KeyFunction<HttpRequest<N>> | undefined;
  /** Units per request for this limit; beats the route's and the pipeline's cost. */
  readonly cost?: Cost<N> | undefined;
}

/** Per-route settings: in a `routes` rule, or in Fastify's route `config.lockwatch`. */
export interface RouteSettings<N = unknown> {
  /** No rate limiting on this route (guards and finish hooks still run). */
  readonly skip?: boolean | undefined;
  /** Units per request on this route, for every limit without its own cost. */
  readonly cost?: Cost<N> | undefined;
  /** Limits of this route instead of the pipeline's. */
  readonly limits?: readonly LimitRule<N>[] | undefined;
  /** Guard of this route instead of the default one; `false` for none. */
  readonly guard?: Guard<N> | false | undefined;
}

/** Route settings applied where a path (and method) match; the first matching rule wins. */
export interface RouteRule<N = unknown> extends RouteSettings<N> {
  /**
   * `/exact/path`, `/prefix/*` (the prefix and everything under it), or a
   * RegExp tested on the path. Strings match case-insensitively and ignore a
   * trailing slash, as Express and Hono route by default.
   */
  readonly path: string | RegExp;
  /** Only these methods; every method by default. */
  readonly methods?: readonly string[] | undefined;
}

/** Requests rate limiting leaves alone. */
export interface SkipList {
  /** Paths, in the syntax of {@link RouteRule.path}. */
  readonly paths?: readonly (string | RegExp)[] | undefined;
  /** Methods, such as `OPTIONS`. */
  readonly methods?: readonly string[] | undefined;
}

/**
 * Where a rate-limit header format is sent: `true` on every rate-limited
 * response (admitted and refused), `'refusals'` only on refusals, `false`
 * never.
 */
export type HeaderPlacement = boolean | 'refusals';

/** Which rate-limit header formats to send, and where. */
export interface HeaderOptions {
  /**
   * The seed's `X-RateLimit-Limit`, `-Remaining`, `-Reset` (epoch seconds);
   * `true` by default: on every response, as express-rate-limit and
   * @fastify/rate-limit send them.
   */
  readonly legacy?: HeaderPlacement | undefined;
  /**
   * IETF draft-ietf-httpapi-ratelimit-headers-10 `RateLimit-Policy` and
   * `RateLimit`; `'refusals'` by default, `true` to send them on admitted
   * responses too.
   */
  readonly draft?: HeaderPlacement | undefined;
  /** `false` sends neither format on admitted responses, whatever the two say; `true` by default. */
  readonly allowed?: boolean | undefined;
}

/** Body format of refusals: the seed's JSON or RFC 9457 problem details. */
export type ErrorFormat = 'json' | 'problem+json';

/** Options of the HTTP pipeline (and of every framework adapter). */
export interface HttpOptions<N = unknown> {
  /** Shorthand for `limits: [{ name: 'default', limiter, key, cost }]`. */
  readonly limiter?: RateLimiter | undefined;
  /** With `limiter`: the subject of a request; the client IP by default. */
  readonly key?: KeyFunction<HttpRequest<N>> | undefined;
  /** Limits checked on every request (in parallel; none is charged unless all admit). */
  readonly limits?: readonly LimitRule<N>[] | undefined;
  /** Units per request; each limiter's own default (1) when left out. */
  readonly cost?: Cost<N> | undefined;
  /** Which proxies to believe for the client IP; `false` (the socket address only) by default. */
  readonly trustProxy?: TrustProxy | undefined;
  /** The forwarding header your proxies set; `x-forwarded-for` by default. */
  readonly ipHeader?: 'x-forwarded-for' | 'forwarded' | undefined;
  /** Requests that are never rate limited: a skip list or a predicate. */
  readonly skip?: SkipList | ((request: HttpRequest<N>) => boolean | Promise<boolean>) | undefined;
  /** Per-route settings, first match wins. */
  readonly routes?: readonly RouteRule<N>[] | undefined;
  /** Header formats; `false` sends none but `Retry-After`. */
  readonly headers?: HeaderOptions | false | undefined;
  /** Body format of refusals; `json` by default. */
  readonly errorFormat?: ErrorFormat | undefined;
  /** `problem+json` only: the problem `type` is this URI followed by the error code; `about:blank` by default. */
  readonly problemTypeBase?: string | undefined;
  /** Guard, decision and finish hooks. */
  readonly hooks?: HttpHooks<N> | undefined;
  /** Time source of `startedAt`, `finishedAt` and `X-RateLimit-Reset`; `Date.now` by default. */
  readonly clock?: Clock | undefined;
  /** The request id of a request; a valid `X-Request-Id` or a random UUID by default. */
  readonly requestId?: ((request: HttpRequest<N>) => string | undefined) | undefined;
}

/** What the pipeline decided before the handler. */
export interface Admission {
  /** The request's context; attach it to the framework's request. */
  readonly context: LockWatchContext;
  /** Rate-limit headers to add to the handler's response (empty when none apply). */
  readonly headers: Readonly<Record<string, string>>;
  /** When set, send this and do not call the handler. */
  readonly reply: HttpReply | undefined;
}

/** The shared pipeline every framework adapter is a thin layer over. */
export interface HttpPipeline<N = unknown> {
  /**
   * Runs everything before the handler: skip lists, keys, limits, decision
   * hooks, the guard. `route` carries the framework's per-route settings
   * (Fastify route config); `false` skips rate limiting.
   */
  begin(request: HttpRequest<N>, route?: RouteSettings<N> | false): Promise<Admission>;
  /**
   * `begin` without a promise when no step has to wait (an in-process store,
   * synchronous hooks, no guard): adapters call it to save the microtasks.
   * Never throws: a failure is a rejected promise, as with `begin`.
   */
  admit(request: HttpRequest<N>, route?: RouteSettings<N> | false): Admission | Promise<Admission>;
  /** Reports the end of the response; runs the finish hooks once (later calls are ignored). */
  finish(context: LockWatchContext, statusCode: number, aborted?: boolean): void;
  /**
   * Validates and caches per-route settings ahead of the first request
   * (Fastify calls it as routes are added, so bad route config fails at
   * start-up); throws an InvalidOptionError naming `option`.
   */
  prepare(route: RouteSettings<N> | false, option?: string): void;
}
