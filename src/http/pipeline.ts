/**
 * The shared HTTP pipeline: resolve subjects → rate limit (all limits in
 * parallel, refunded unless all admit) → decision hooks → refusal, or the
 * guard → handler → finish hooks with status and latency. Framework adapters
 * only translate requests and replies; every behaviour is here, once.
 */
import { createUuidV7Generator } from '../domain/audit/uuid.ts';
import { InvalidOptionError } from '../domain/config/errors.ts';
import { validateCost } from '../domain/ratelimit/policy.ts';
import type { Decision } from '../domain/ratelimit/types.ts';
import { appendRateLimitItems, ceilSeconds, setLegacyHeaders } from './headers.ts';
import {
  type CompiledLimit,
  type CompiledRoute,
  type HeaderSet,
  type ResolvedOptions,
  resolveOptions,
} from './options.ts';
import { refusal } from './replies.ts';
import { lowerPath, routablePath } from './routes.ts';
import type {
  Admission,
  HttpOptions,
  HttpPipeline,
  HttpReply,
  HttpRequest,
  LimitCheck,
  LockWatchContext,
  Principal,
  RouteSettings,
} from './types.ts';

const pipelineBrand = Symbol.for('lockwatch.http-pipeline');
const noChecks: readonly LimitCheck[] = Object.freeze([]);
const noAnomalies: readonly string[] = Object.freeze([]);
const noHeaders: Readonly<Record<string, string>> = Object.freeze({});
// Ids a client may choose for its own request: no spaces, quotes or separators a log parser trips on.
const requestIdPattern = /^[A-Za-z0-9._:+/=-]{1,128}$/;
const anomalyPattern = /^[a-z][a-z0-9_.-]{0,63}$/;
// Ids of requests that bring none: UUIDv7 (time-ordered, unique), made from pooled random bytes,
// several times cheaper per request than `crypto.randomUUID()`.
const newRequestId = createUuidV7Generator();
// The frozen one-kind lists of a request's first anomaly, shared: a flood flags every request.
const firstAnomaly = new Map<string, readonly string[]>();

/** The frozen list `[kind]`, made once per kind (up to 256 kinds kept). */
function anomalyList(kind: string): readonly string[] {
  const list = Object.freeze([kind]);
  if (firstAnomaly.size < 256) firstAnomaly.set(kind, list);
  return list;
}

/** A value now, or a promise of it once a step has to wait. */
type Step<T> = T | Promise<T>;

/** True for a promise or any other thenable, which `await` would unwrap. */
function isThenable<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/** The context of one request; fields are written by the pipeline only. */
class Context<N> implements LockWatchContext {
  readonly startedAt: number;
  readonly method: string;
  readonly path: string;
  skipped = false;
  decision: Decision | undefined = undefined;
  checks: readonly LimitCheck[] = noChecks;
  rateLimited = false;
  anomalies: readonly string[] = noAnomalies;
  principal: Principal | undefined = undefined;
  readonly #request: HttpRequest<N>;
  readonly #options: ResolvedOptions<N>;
  readonly #startMono: number;
  #ip: string | undefined | null = null;
  #requestId: string | undefined = undefined;
  #requestIdMade = false;
  #finished = false;

  constructor(request: HttpRequest<N>, options: ResolvedOptions<N>) {
    this.#request = request;
    this.#options = options;
    this.startedAt = options.clock.now();
    this.#startMono = performance.now();
    this.method = request.method;
    this.path = request.path;
  }

  get ip(): string | undefined {
    if (this.#ip === null) this.#ip = this.#options.clientIpOf(this.#request);
    return this.#ip;
  }

  get requestId(): string {
    if (this.#requestId === undefined) {
      const given = this.#options.requestId?.(this.#request);
      if (typeof given === 'string' && given !== '') this.#requestId = given;
      else {
        const header = this.#request.headers['x-request-id'];
        if (typeof header === 'string' && requestIdPattern.test(header)) this.#requestId = header;
        else {
          this.#requestId = newRequestId(this.startedAt);
          this.#requestIdMade = true;
        }
      }
    }
    return this.#requestId;
  }

  flagAnomaly(kind: string): void {
    // A kind with a cached list was valid when it was cached: no pattern test per flagged request.
    let list = firstAnomaly.get(kind);
    if (list === undefined) {
      if (typeof kind !== 'string' || !anomalyPattern.test(kind)) {
        throw new InvalidOptionError('kind', kind, "a lower-case anomaly kind such as 'burst'");
      }
      list = anomalyList(kind);
    }
    if (this.anomalies.length === 0) this.anomalies = list;
    else if (!this.anomalies.includes(kind)) {
      this.anomalies = Object.freeze([...this.anomalies, kind]);
    }
  }

  /** The request id when LockWatch made it (a UUIDv7, unique), else undefined. */
  static madeRequestId<N>(context: Context<N>): string | undefined {
    const id = context.requestId;
    return context.#requestIdMade ? id : undefined;
  }

  /** Marks the context finished; false when it already was. Returns the latency so far, ms. */
  static finish<N>(context: Context<N>): number | undefined {
    if (context.#finished) return undefined;
    context.#finished = true;
    return performance.now() - context.#startMono;
  }

  toJSON(): Record<string, unknown> {
    return {
      requestId: this.requestId,
      startedAt: this.startedAt,
      method: this.method,
      path: this.path,
      ip: this.ip,
      skipped: this.skipped,
      decision: this.decision,
      checks: this.checks,
      rateLimited: this.rateLimited,
      anomalies: this.anomalies,
      principal: this.principal,
    };
  }
}

/**
 * The request id of `context` when LockWatch made it: a UUIDv7 no other
 * request has, which the audit log reuses as the record's id. Undefined for
 * an id the client sent or the `requestId` option gave (those may repeat).
 */
export function madeRequestId(context: LockWatchContext): string | undefined {
  return context instanceof Context ? Context.madeRequestId(context) : undefined;
}

/** True when `value` is a pipeline made by {@link createHttpPipeline}. */
export function isHttpPipeline(value: unknown): value is HttpPipeline<never> {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as Record<symbol, unknown>)[pipelineBrand] === true
  );
}

/** A pipeline from options, or the pipeline itself when one is given (adapters accept both). */
export function toPipeline<N>(source: HttpOptions<N> | HttpPipeline<N>): HttpPipeline<N> {
  return isHttpPipeline(source)
    ? (source as HttpPipeline<N>)
    : createHttpPipeline(source as HttpOptions<N>);
}

// Requests whose admission failed, and their contexts: keyed by the request object the adapter
// made (one per request), so concurrent failures with one shared error cannot mix them up.
const failedAdmissions = new WeakMap<object, LockWatchContext>();

/**
 * The context of a request whose `begin`/`admit` failed (a guard, key or
 * skip function that threw, a store error without failure policy), given
 * the request object passed to it; undefined otherwise. An adapter reports
 * the end of that request with it, so the error response still gets its
 * finish hooks and audit record.
 */
export function contextOfFailedAdmission(request: object): LockWatchContext | undefined {
  return failedAdmissions.get(request);
}

/**
 * The stricter combination of two routes: rate limited unless both skip,
 * with the limits of both (each once), and the guards of both (the first
 * refusal answers; the first guard's principal otherwise).
 */
function strictestRoute<N>(a: CompiledRoute<N>, b: CompiledRoute<N>): CompiledRoute<N> {
  const limits = [...a.limits];
  for (const limit of b.limits) if (!limits.includes(limit)) limits.push(limit);
  let guard = a.guard ?? b.guard;
  if (a.guard !== undefined && b.guard !== undefined && a.guard !== b.guard) {
    const [first, second] = [a.guard, b.guard];
    guard = async (request, context) => {
      const result = await first(request, context);
      if (!result.allow) return result;
      const other = await second(request, context);
      return other.allow ? result : other;
    };
  }
  return Object.freeze({ skip: a.skip && b.skip, limits: Object.freeze(limits), guard });
}

/** Orders two checks: true when `a` decides over `b`. */
function decidesOver(a: Decision, b: Decision): boolean {
  if (a.allowed !== b.allowed) return !a.allowed;
  if (!a.allowed) {
    const rank = (d: Decision) =>
      d.reason === 'store_unavailable' ? 2 : d.reason === 'cost_exceeds_limit' ? 1 : 0;
    if (rank(a) !== rank(b)) return rank(a) > rank(b);
    return a.retryAfterMs > b.retryAfterMs;
  }
  return a.remaining * b.limit < b.remaining * a.limit;
}

/**
 * Creates the HTTP pipeline. Options are validated here, once; a bad one
 * throws an InvalidOptionError naming it. The pipeline holds no resources:
 * the limiters it is given stay the caller's to close.
 */
export function createHttpPipeline<N = unknown>(options: HttpOptions<N>): HttpPipeline<N> {
  const resolved = resolveOptions(options);
  const {
    clock,
    headers: format,
    reply: replyFormat,
    beforeLimit,
    onDecision,
    onFinish,
    onError,
  } = resolved;
  const skipRoute: CompiledRoute<N> = Object.freeze({ ...resolved.defaults, skip: true });
  const compiled = new WeakMap<RouteSettings<N>, CompiledRoute<N>>();

  const compile = (settings: RouteSettings<N> | false, option: string): CompiledRoute<N> => {
    if (settings === false) return skipRoute;
    let route = compiled.get(settings);
    if (route === undefined) {
      route = resolved.compileRoute(settings, option);
      compiled.set(settings, route);
    }
    return route;
  };

  /** The first rule matching a spelling of the path, or the defaults. */
  const ruleFor = (lower: string, path: string, method: string): CompiledRoute<N> => {
    const { routes } = resolved;
    for (let i = 0; i < routes.length; i++) {
      const rule = routes[i]!;
      if (rule.match(lower, path, method)) return rule.route;
    }
    return resolved.defaults;
  };

  // Routes of ambiguous spellings, made once per pair of rules.
  const strictest = new Map<CompiledRoute<N>, Map<CompiledRoute<N>, CompiledRoute<N>>>();
  const strictestOf = (a: CompiledRoute<N>, b: CompiledRoute<N>): CompiledRoute<N> => {
    let byB = strictest.get(a);
    if (byB === undefined) {
      byB = new Map();
      strictest.set(a, byB);
    }
    let route = byB.get(b);
    if (route === undefined) {
      route = strictestRoute(a, b);
      byB.set(b, route);
    }
    return route;
  };

  /**
   * The route of a request. Routers normalise paths differently (Fastify
   * and Hono decode escapes, Express does not; Fastify may drop `;...`), so
   * a spelling that routers may read two ways (`/%61dmin`, `//admin`,
   * `/health;x`) gets the rules of both readings, whichever is stricter:
   * a guard of either, the limits of both, skipped only if both skip.
   */
  const routeOf = (
    request: HttpRequest<N>,
    override: RouteSettings<N> | false | undefined,
  ): CompiledRoute<N> => {
    if (override !== undefined) return compile(override, 'route');
    if (resolved.routes.length === 0) return resolved.defaults;
    const { path, method } = request;
    const routable = routablePath(path);
    const normalised = ruleFor(lowerPath(routable), routable, method);
    if (routable === path) return normalised;
    const asSent = ruleFor(lowerPath(path), path, method);
    return asSent === normalised ? normalised : strictestOf(normalised, asSent);
  };

  // Synchronous unless a skip predicate is async: every await is a microtask on the hot path.
  const isSkipped = (request: HttpRequest<N>): boolean | Promise<boolean> => {
    const { skipList } = resolved;
    if (skipList !== undefined) {
      const { path, method } = request;
      const routable = routablePath(path);
      // Skipping relaxes: a spelling routers may read two ways is skipped only if both readings are.
      if (
        skipList(lowerPath(routable), routable, method) &&
        (routable === path || skipList(lowerPath(path), path, method))
      ) {
        return true;
      }
    }
    if (resolved.skipFunction === undefined) return false;
    const skipped = resolved.skipFunction(request);
    return skipped instanceof Promise ? skipped.then((value) => value === true) : skipped === true;
  };

  const costOf = async (limit: CompiledLimit<N>, request: HttpRequest<N>): Promise<number> => {
    const cost = limit.cost as (request: HttpRequest<N>) => number | Promise<number>;
    return validateCost(await cost(request), `cost of limit '${limit.name}'`);
  };

  /** Charges `subject`; without a promise when the limiter's store decides in process. */
  const charge = (
    limit: CompiledLimit<N>,
    subject: string,
    cost: number | undefined,
  ): LimitCheck | Promise<LimitCheck> => {
    const options = cost === undefined ? undefined : { cost };
    const { limiter } = limit;
    if (limiter.checkNow !== undefined) {
      return { limit: limit.name, subject, cost, decision: limiter.checkNow(subject, options) };
    }
    return limiter
      .check(subject, options)
      .then((decision) => ({ limit: limit.name, subject, cost, decision }));
  };

  const checkSubject = (
    limit: CompiledLimit<N>,
    request: HttpRequest<N>,
    subject: string | undefined,
  ): Step<LimitCheck | undefined> => {
    if (subject === undefined) return undefined;
    if (typeof limit.cost === 'function') {
      return costOf(limit, request).then((cost) => charge(limit, subject, cost));
    }
    return charge(limit, subject, limit.cost);
  };

  /** Checks one limit; undefined when its key gives the request no subject. */
  const check = (
    limit: CompiledLimit<N>,
    request: HttpRequest<N>,
  ): Step<LimitCheck | undefined> => {
    const key = limit.key(request);
    return isThenable(key)
      ? Promise.resolve(key).then((subject) => checkSubject(limit, request, subject))
      : checkSubject(limit, request, key);
  };

  /**
   * Gives back what the admitting limits charged when another limit refused,
   * then reads their state again, so the fields of the refusal show what the
   * client has left (the decisions of the charge would show one cost less).
   */
  const refund = async (
    limits: readonly CompiledLimit<N>[],
    checks: (LimitCheck | undefined)[],
    context: LockWatchContext,
  ): Promise<void> => {
    const refunded = async (index: number, done: LimitCheck): Promise<void> => {
      const { limiter } = limits[index]!;
      const options = done.cost === undefined ? undefined : { cost: done.cost };
      await limiter.refund(done.subject, options);
      checks[index] = { ...done, decision: await limiter.peek(done.subject, options) };
    };
    const refunds: Promise<void>[] = [];
    for (let i = 0; i < checks.length; i++) {
      const done = checks[i];
      if (done === undefined || !done.decision.allowed || done.cost === 0) continue;
      refunds.push(refunded(i, done));
    }
    for (const result of await Promise.allSettled(refunds)) {
      if (result.status === 'rejected') onError(result.reason, context);
    }
  };

  /** Fills the context from the settled checks of every limit; returns the deciding check. */
  const settleLimits = (
    limits: readonly CompiledLimit<N>[],
    settled: readonly PromiseSettledResult<LimitCheck | undefined>[],
    context: Context<N>,
  ): Step<LimitCheck | undefined> => {
    const checks: (LimitCheck | undefined)[] = [];
    let failure: { reason: unknown } | undefined;
    let deciding: LimitCheck | undefined;
    for (const result of settled) {
      if (result.status === 'rejected') {
        failure ??= { reason: result.reason };
        checks.push(undefined);
        continue;
      }
      const done = result.value;
      checks.push(done);
      if (
        done !== undefined &&
        (deciding === undefined || decidesOver(done.decision, deciding.decision))
      ) {
        deciding = done;
      }
    }
    const conclude = (): LimitCheck | undefined => {
      if (failure !== undefined) throw failure.reason;
      if (deciding === undefined) return undefined;
      context.checks = Object.freeze(checks.filter((c): c is LimitCheck => c !== undefined));
      context.decision = deciding.decision;
      context.rateLimited = !deciding.decision.allowed;
      return deciding;
    };
    if (failure !== undefined || (deciding !== undefined && !deciding.decision.allowed)) {
      // All limits admit or none is charged, across subjects as within one.
      return refund(limits, checks, context).then(conclude);
    }
    return conclude();
  };

  /** Runs every limit; fills the context; returns the deciding check. */
  const runLimits = (
    request: HttpRequest<N>,
    limits: readonly CompiledLimit<N>[],
    context: Context<N>,
  ): Step<LimitCheck | undefined> => {
    if (limits.length === 1) {
      const only = (done: LimitCheck | undefined): LimitCheck | undefined => {
        if (done === undefined) return undefined;
        context.checks = [done];
        context.decision = done.decision;
        context.rateLimited = !done.decision.allowed;
        return done;
      };
      const checked = check(limits[0]!, request);
      return isThenable(checked) ? Promise.resolve(checked).then(only) : only(checked);
    }
    const pending: Step<LimitCheck | undefined>[] = [];
    let waits = false;
    for (const limit of limits) {
      try {
        const checked = check(limit, request);
        if (isThenable(checked)) waits = true;
        pending.push(checked);
      } catch (error) {
        pending.push(Promise.reject(error));
        waits = true;
      }
    }
    if (waits) {
      return Promise.allSettled(pending).then((settled) => settleLimits(limits, settled, context));
    }
    return settleLimits(
      limits,
      pending.map((value) => ({ status: 'fulfilled', value: value as LimitCheck | undefined })),
      context,
    );
  };

  /** Rate-limit headers of the checks, in the formats of `set`. */
  const rateLimitHeaders = (
    limits: readonly CompiledLimit<N>[],
    checks: readonly LimitCheck[],
    deciding: LimitCheck,
    now: number,
    set: HeaderSet,
  ): Record<string, string> => {
    const target: Record<string, string> = {};
    if (set.draft) {
      let policy = '';
      let rate = '';
      for (const done of checks) {
        let field = '';
        for (let i = 0; i < limits.length; i++) {
          if (limits[i]!.name === done.limit) {
            field = limits[i]!.policyField;
            break;
          }
        }
        if (field !== '') policy = policy === '' ? field : `${policy}, ${field}`;
        rate = appendRateLimitItems(rate, done.decision.results);
      }
      if (policy !== '') target['ratelimit-policy'] = policy;
      if (rate !== '') target.ratelimit = rate;
    }
    if (set.legacy && deciding.decision.results.length > 0) {
      setLegacyHeaders(target, deciding.decision, now);
    }
    return target;
  };

  /** The refusal of a denied decision. */
  const refuse = (
    limits: readonly CompiledLimit<N>[],
    context: Context<N>,
    deciding: LimitCheck,
  ): HttpReply => {
    const { decision } = deciding;
    if (decision.reason === 'store_unavailable') {
      // A synthetic denial: its counts are not the client's, so only Retry-After.
      const retryAfter = Math.max(1, ceilSeconds(decision.retryAfterMs));
      return refusal(
        replyFormat,
        'service_unavailable',
        { retry_after: retryAfter },
        `Rate limiting is unavailable; retry in ${retryAfter} s.`,
        { 'retry-after': String(retryAfter) },
      );
    }
    const headers = rateLimitHeaders(
      limits,
      context.checks,
      deciding,
      context.startedAt,
      format.refused,
    );
    if (decision.reason === 'cost_exceeds_limit') {
      // Waiting never helps, so no Retry-After and not 429 (clients retry a 429).
      return refusal(
        replyFormat,
        'cost_exceeds_limit',
        deciding.cost === undefined
          ? { limit: decision.limit }
          : { cost: deciding.cost, limit: decision.limit },
        `This request costs ${deciding.cost ?? 'more'} units; policy '${decision.policy}' admits at most ${decision.limit} at once.`,
        headers,
      );
    }
    const retryAfter = Math.max(1, ceilSeconds(decision.retryAfterMs));
    headers['retry-after'] = String(retryAfter);
    return refusal(
      replyFormat,
      'rate_limit_exceeded',
      { retry_after: retryAfter },
      `Rate limit '${decision.policy}' exceeded; retry in ${retryAfter} s.`,
      headers,
    );
  };

  const withHeaders = (reply: HttpReply, headers: Readonly<Record<string, string>>): HttpReply =>
    headers === noHeaders ? reply : { ...reply, headers: { ...headers, ...reply.headers } };

  /** A hook's reply, when it may still answer: the first one wins, never over a refusal. */
  const hookReply = (
    reply: HttpReply | undefined,
    hooked: HttpReply | undefined,
    context: Context<N>,
  ): HttpReply | undefined =>
    hooked !== undefined && reply === undefined && !context.rateLimited ? hooked : reply;

  // The steps of admission, each continuing into the next: synchronous while
  // every step is (in-process store, synchronous hooks), a promise from the
  // first step that waits. A microtask per step measured at several µs per request.

  /** Runs the before-limit hooks from `index`, then the limits. */
  const fromBeforeHook = (
    request: HttpRequest<N>,
    context: Context<N>,
    route: CompiledRoute<N>,
    index: number,
    skip: boolean,
  ): Step<Admission> => {
    for (let i = index; i < beforeLimit.length; i++) {
      let outcome: ReturnType<(typeof beforeLimit)[number]>;
      try {
        outcome = beforeLimit[i]!(request, context);
      } catch (error) {
        onError(error, context);
        continue;
      }
      if (isThenable(outcome)) {
        return Promise.resolve(outcome).then(
          (settled) =>
            settled === 'skip' || settled === undefined
              ? fromBeforeHook(request, context, route, i + 1, skip || settled === 'skip')
              : { context, headers: noHeaders, reply: settled },
          (error: unknown) => {
            onError(error, context);
            return fromBeforeHook(request, context, route, i + 1, skip);
          },
        );
      }
      if (outcome === 'skip') skip = true;
      else if (outcome !== undefined) return { context, headers: noHeaders, reply: outcome };
    }
    if (!skip) {
      const skipped = isSkipped(request);
      if (skipped !== false && skipped !== true) {
        return skipped.then((value) => limitStep(request, context, route, value));
      }
      skip = skipped;
    }
    return limitStep(request, context, route, skip);
  };

  const limitStep = (
    request: HttpRequest<N>,
    context: Context<N>,
    route: CompiledRoute<N>,
    skip: boolean,
  ): Step<Admission> => {
    if (skip) context.skipped = true;
    if (skip || route.limits.length === 0) {
      return guardStep(request, context, route, undefined, undefined);
    }
    const deciding = runLimits(request, route.limits, context);
    return isThenable(deciding)
      ? Promise.resolve(deciding).then((done) => decisionStep(request, context, route, done, 0))
      : decisionStep(request, context, route, deciding, 0);
  };

  /** Runs the decision hooks from `index`, then refuses or goes on to the guard. */
  const decisionStep = (
    request: HttpRequest<N>,
    context: Context<N>,
    route: CompiledRoute<N>,
    deciding: LimitCheck | undefined,
    index: number,
    reply?: HttpReply,
  ): Step<Admission> => {
    if (deciding === undefined) return guardStep(request, context, route, undefined, undefined);
    for (let i = index; i < onDecision.length; i++) {
      let returned: ReturnType<(typeof onDecision)[number]>;
      try {
        returned = onDecision[i]!(request, context);
      } catch (error) {
        onError(error, context);
        continue;
      }
      if (isThenable(returned)) {
        return Promise.resolve(returned).then(
          (hooked) =>
            decisionStep(
              request,
              context,
              route,
              deciding,
              i + 1,
              hookReply(reply, hooked ?? undefined, context),
            ),
          (error: unknown) => {
            onError(error, context);
            return decisionStep(request, context, route, deciding, i + 1, reply);
          },
        );
      }
      reply = hookReply(reply, returned ?? undefined, context);
    }
    if (context.rateLimited) {
      return { context, headers: noHeaders, reply: refuse(route.limits, context, deciding) };
    }
    return guardStep(request, context, route, deciding, reply);
  };

  const guardStep = (
    request: HttpRequest<N>,
    context: Context<N>,
    route: CompiledRoute<N>,
    deciding: LimitCheck | undefined,
    reply: HttpReply | undefined,
  ): Step<Admission> => {
    const headers =
      deciding !== undefined && (format.admitted.draft || format.admitted.legacy)
        ? rateLimitHeaders(
            route.limits,
            context.checks,
            deciding,
            context.startedAt,
            format.admitted,
          )
        : noHeaders;
    if (reply !== undefined) {
      return { context, headers: noHeaders, reply: withHeaders(reply, headers) };
    }
    if (route.guard === undefined) return { context, headers, reply: undefined };
    return Promise.resolve(route.guard(request, context)).then((result) => {
      if (!result.allow) {
        return { context, headers: noHeaders, reply: withHeaders(result.reply, headers) };
      }
      context.principal = result.principal;
      return { context, headers, reply: undefined };
    });
  };

  const admit = (
    request: HttpRequest<N>,
    override?: RouteSettings<N> | false,
  ): Admission | Promise<Admission> => {
    let context: Context<N> | undefined;
    try {
      context = new Context(request, resolved);
      const route = routeOf(request, override);
      const admitted = fromBeforeHook(request, context, route, 0, route.skip);
      if (!(admitted instanceof Promise)) return admitted;
      const started = context;
      return admitted.then(undefined, (error: unknown) => {
        failedAdmissions.set(request, started);
        throw error;
      });
    } catch (error) {
      if (context !== undefined) failedAdmissions.set(request, context);
      return Promise.reject(error);
    }
  };

  const pipeline: HttpPipeline<N> & { readonly [pipelineBrand]: true } = {
    [pipelineBrand]: true,

    admit,

    async begin(request, override): Promise<Admission> {
      return admit(request, override);
    },

    finish(context, statusCode, aborted = false) {
      if (!(context instanceof Context)) return;
      const latencyMs = Context.finish(context);
      if (latencyMs === undefined || onFinish.length === 0) return;
      // 499, nginx's "client closed request": what a framework reports then varies.
      const status = aborted ? 499 : statusCode;
      const event = { context, statusCode: status, latencyMs, finishedAt: clock.now(), aborted };
      for (const hook of onFinish) {
        try {
          hook(event);
        } catch (error) {
          onError(error, context);
        }
      }
    },

    prepare(route, option = 'route') {
      compile(route, option);
    },
  };
  return pipeline;
}
