/**
 * The shared HTTP pipeline: resolve subjects → rate limit (all limits in
 * parallel, refunded unless all admit) → decision hooks → refusal, or the
 * guard → handler → finish hooks with status and latency. Framework adapters
 * only translate requests and replies; every behaviour is here, once.
 */
import { InvalidOptionError } from '../domain/config/errors.ts';
import { validateCost } from '../domain/ratelimit/policy.ts';
import type { Decision } from '../domain/ratelimit/types.ts';
import { appendRateLimitItems, ceilSeconds, setLegacyHeaders } from './headers.ts';
import {
  type CompiledLimit,
  type CompiledRoute,
  type ResolvedOptions,
  resolveOptions,
} from './options.ts';
import { refusal } from './replies.ts';
import { comparablePath } from './routes.ts';
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
// The frozen one-kind lists of a request's first anomaly, shared: a flood flags every request.
const firstAnomaly = new Map<string, readonly string[]>();

/** The frozen list `[kind]`, made once per kind (up to 256 kinds kept). */
function anomalyList(kind: string): readonly string[] {
  let list = firstAnomaly.get(kind);
  if (list === undefined) {
    list = Object.freeze([kind]);
    if (firstAnomaly.size < 256) firstAnomaly.set(kind, list);
  }
  return list;
}

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
        this.#requestId =
          typeof header === 'string' && requestIdPattern.test(header)
            ? header
            : crypto.randomUUID();
      }
    }
    return this.#requestId;
  }

  flagAnomaly(kind: string): void {
    if (typeof kind !== 'string' || !anomalyPattern.test(kind)) {
      throw new InvalidOptionError('kind', kind, "a lower-case anomaly kind such as 'burst'");
    }
    if (this.anomalies.length === 0) this.anomalies = anomalyList(kind);
    else if (!this.anomalies.includes(kind)) {
      this.anomalies = Object.freeze([...this.anomalies, kind]);
    }
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

  const routeOf = (
    request: HttpRequest<N>,
    override: RouteSettings<N> | false | undefined,
  ): CompiledRoute<N> => {
    if (override !== undefined) return compile(override, 'route');
    const { routes } = resolved;
    if (routes.length === 0) return resolved.defaults;
    const lower = comparablePath(request.path);
    for (let i = 0; i < routes.length; i++) {
      const rule = routes[i]!;
      if (rule.match(lower, request.path, request.method)) return rule.route;
    }
    return resolved.defaults;
  };

  // Synchronous unless a skip predicate is async: every await is a microtask on the hot path.
  const isSkipped = (request: HttpRequest<N>): boolean | Promise<boolean> => {
    if (resolved.skipList?.(comparablePath(request.path), request.path, request.method)) {
      return true;
    }
    if (resolved.skipFunction === undefined) return false;
    const skipped = resolved.skipFunction(request);
    return skipped instanceof Promise ? skipped.then((value) => value === true) : skipped === true;
  };

  const costOf = async (limit: CompiledLimit<N>, request: HttpRequest<N>): Promise<number> => {
    const cost = limit.cost as (request: HttpRequest<N>) => number | Promise<number>;
    return validateCost(await cost(request), `cost of limit '${limit.name}'`);
  };

  /** Checks one limit; undefined when its key gives the request no subject. */
  const check = async (
    limit: CompiledLimit<N>,
    request: HttpRequest<N>,
  ): Promise<LimitCheck | undefined> => {
    const key = limit.key(request);
    const subject = key instanceof Promise ? await key : key;
    if (subject === undefined) return undefined;
    const cost = typeof limit.cost === 'function' ? await costOf(limit, request) : limit.cost;
    const decision = await limit.limiter.check(subject, cost === undefined ? undefined : { cost });
    return { limit: limit.name, subject, cost, decision };
  };

  const refund = async (
    limits: readonly CompiledLimit<N>[],
    checks: readonly (LimitCheck | undefined)[],
    context: LockWatchContext,
  ): Promise<void> => {
    const refunds: Promise<void>[] = [];
    for (let i = 0; i < checks.length; i++) {
      const done = checks[i];
      if (done === undefined || !done.decision.allowed || done.cost === 0) continue;
      const options = done.cost === undefined ? undefined : { cost: done.cost };
      refunds.push(limits[i]!.limiter.refund(done.subject, options));
    }
    for (const result of await Promise.allSettled(refunds)) {
      if (result.status === 'rejected') onError(result.reason, context);
    }
  };

  /** Runs every limit; fills the context; returns the deciding check. */
  const runLimits = async (
    request: HttpRequest<N>,
    limits: readonly CompiledLimit<N>[],
    context: Context<N>,
  ): Promise<LimitCheck | undefined> => {
    if (limits.length === 1) {
      const only = await check(limits[0]!, request);
      if (only === undefined) return undefined;
      context.checks = [only];
      context.decision = only.decision;
      context.rateLimited = !only.decision.allowed;
      return only;
    }
    const settled = await Promise.allSettled(limits.map((limit) => check(limit, request)));
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
    if (failure !== undefined || (deciding !== undefined && !deciding.decision.allowed)) {
      // All limits admit or none is charged, across subjects as within one.
      await refund(limits, checks, context);
    }
    if (failure !== undefined) throw failure.reason;
    if (deciding === undefined) return undefined;
    context.checks = Object.freeze(checks.filter((c): c is LimitCheck => c !== undefined));
    context.decision = deciding.decision;
    context.rateLimited = !deciding.decision.allowed;
    return deciding;
  };

  /** Rate-limit headers of the checks, in the enabled formats. */
  const rateLimitHeaders = (
    limits: readonly CompiledLimit<N>[],
    checks: readonly LimitCheck[],
    deciding: LimitCheck,
    target: Record<string, string>,
  ): Record<string, string> => {
    if (format.draft) {
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
      if (policy !== '') target['RateLimit-Policy'] = policy;
      if (rate !== '') target.RateLimit = rate;
    }
    if (format.legacy && deciding.decision.results.length > 0) {
      setLegacyHeaders(target, deciding.decision, clock.now());
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
        { 'Retry-After': String(retryAfter) },
      );
    }
    const headers = rateLimitHeaders(limits, context.checks, deciding, {});
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
    headers['Retry-After'] = String(retryAfter);
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

  const pipeline: HttpPipeline<N> & { readonly [pipelineBrand]: true } = {
    [pipelineBrand]: true,

    async begin(request, override): Promise<Admission> {
      const context = new Context(request, resolved);
      const route = routeOf(request, override);
      let deciding: LimitCheck | undefined;
      let skip = route.skip;
      for (const hook of beforeLimit) {
        try {
          // A synchronous hook's result is used as it is: no microtask per hook.
          const returned = hook(request, context);
          const outcome = isThenable(returned) ? await returned : returned;
          if (outcome === 'skip') skip = true;
          else if (outcome !== undefined) return { context, headers: noHeaders, reply: outcome };
        } catch (error) {
          onError(error, context);
        }
      }
      if (!skip) {
        const skipped = isSkipped(request);
        skip = skipped === true || (skipped !== false && (await skipped));
      }
      if (skip) context.skipped = true;
      else if (route.limits.length > 0) deciding = await runLimits(request, route.limits, context);

      let reply: HttpReply | undefined;
      if (deciding !== undefined) {
        for (const hook of onDecision) {
          try {
            const returned = hook(request, context);
            const hooked = isThenable(returned) ? await returned : returned;
            if (hooked !== undefined && reply === undefined && !context.rateLimited) reply = hooked;
          } catch (error) {
            onError(error, context);
          }
        }
        if (context.rateLimited)
          return { context, headers: noHeaders, reply: refuse(route.limits, context, deciding) };
      }

      const headers =
        deciding !== undefined && format.allowed && (format.draft || format.legacy)
          ? rateLimitHeaders(route.limits, context.checks, deciding, {})
          : noHeaders;
      if (reply !== undefined)
        return { context, headers: noHeaders, reply: withHeaders(reply, headers) };
      if (route.guard !== undefined) {
        const result = await route.guard(request, context);
        if (!result.allow) {
          return { context, headers: noHeaders, reply: withHeaders(result.reply, headers) };
        }
        context.principal = result.principal;
      }
      return { context, headers, reply: undefined };
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
