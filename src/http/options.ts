/**
 * Validation of the HTTP pipeline's options, once, at construction: every
 * mistake (a typo in an option name included) throws an InvalidOptionError
 * that names the option.
 */
import { InvalidOptionError } from '../domain/config/errors.ts';
import { choiceOption, nameOption } from '../domain/config/validate.ts';
import { clientIp, type KeyFunction } from '../domain/ratelimit/keys.ts';
import type { RateLimiter } from '../domain/ratelimit/limiter.ts';
import { capacityOf, validateCost } from '../domain/ratelimit/policy.ts';
import type { Clock } from '../ports/clock.ts';
import { policyField } from './headers.ts';
import type { ReplyFormat } from './replies.ts';
import { methodSet, pathMatcher, type RequestMatcher, requestMatcher } from './routes.ts';
import type {
  BeforeLimitHook,
  Cost,
  DecisionHook,
  FinishHook,
  Guard,
  HeaderPlacement,
  HttpOptions,
  HttpRequest,
  LockWatchContext,
  RouteSettings,
} from './types.ts';

/** A limit ready to run. */
export interface CompiledLimit<N> {
  readonly name: string;
  readonly limiter: RateLimiter;
  readonly key: KeyFunction<HttpRequest<N>>;
  /** undefined: the limiter's own default cost. */
  readonly cost: Cost<N> | undefined;
  /** `RateLimit-Policy` items of the limiter's enforce policies ('' when none). */
  readonly policyField: string;
}

/** Route settings ready to run. */
export interface CompiledRoute<N> {
  readonly skip: boolean;
  readonly limits: readonly CompiledLimit<N>[];
  /** undefined: no guard. */
  readonly guard: Guard<N> | undefined;
}

/** The rate-limit header formats one kind of response carries. */
export interface HeaderSet {
  readonly legacy: boolean;
  readonly draft: boolean;
}

/** Which header formats are sent on refusals and on admitted responses. */
export interface HeaderFormat {
  readonly refused: HeaderSet;
  readonly admitted: HeaderSet;
}

/** Validated pipeline options. */
export interface ResolvedOptions<N> {
  readonly defaults: CompiledRoute<N>;
  readonly routes: readonly { readonly match: RequestMatcher; readonly route: CompiledRoute<N> }[];
  readonly skipList: RequestMatcher | undefined;
  readonly skipFunction: ((request: HttpRequest<N>) => boolean | Promise<boolean>) | undefined;
  readonly headers: HeaderFormat;
  readonly reply: ReplyFormat;
  readonly beforeLimit: readonly BeforeLimitHook<N>[];
  readonly onDecision: readonly DecisionHook<N>[];
  readonly onFinish: readonly FinishHook[];
  readonly onError: (error: unknown, context: LockWatchContext | undefined) => void;
  readonly clock: Pick<Clock, 'now'>;
  readonly clientIpOf: (request: HttpRequest<N>) => string | undefined;
  readonly requestId: ((request: HttpRequest<N>) => string | undefined) | undefined;
  /** Compiles route settings given at run time (Fastify route config) under `option`. */
  compileRoute(settings: RouteSettings<N>, option: string): CompiledRoute<N>;
}

const topLevel = [
  'limiter',
  'key',
  'limits',
  'cost',
  'trustProxy',
  'ipHeader',
  'skip',
  'routes',
  'headers',
  'errorFormat',
  'problemTypeBase',
  'hooks',
  'clock',
  'requestId',
] as const;

/** Throws when `value` has a key outside `known`: a misspelt option must not pass silently. */
export function onlyKnownKeys(option: string, value: object, known: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) {
      throw new InvalidOptionError(
        option === '' ? key : `${option}.${key}`,
        (value as Record<string, unknown>)[key],
        `no such option; known: ${known.join(', ')}`,
      );
    }
  }
}

function objectOption(option: string, value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidOptionError(option, value, what);
  }
  return value as Record<string, unknown>;
}

function functionOption<F>(option: string, value: unknown, what: string): F | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'function') throw new InvalidOptionError(option, value, what);
  return value as F;
}

function booleanOption(option: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new InvalidOptionError(option, value, 'true or false');
  return value;
}

function hookList<H>(option: string, value: unknown): readonly H[] {
  if (value === undefined) return [];
  const list = Array.isArray(value) ? value : [value];
  list.forEach((hook: unknown, index) => {
    if (typeof hook !== 'function') {
      throw new InvalidOptionError(
        Array.isArray(value) ? `${option}[${index}]` : option,
        hook,
        'a function, or an array of functions',
      );
    }
  });
  return Object.freeze([...list]) as readonly H[];
}

function limiterOption(option: string, value: unknown): RateLimiter {
  const limiter = value as RateLimiter | undefined;
  if (
    typeof limiter !== 'object' ||
    limiter === null ||
    typeof limiter.check !== 'function' ||
    typeof limiter.refund !== 'function' ||
    !Array.isArray(limiter.policies)
  ) {
    throw new InvalidOptionError(option, value, 'a RateLimiter from createRateLimiter()');
  }
  return limiter;
}

/** A fixed cost is checked against every enforce policy now; a cost function is checked per request. */
function costOption<N>(option: string, value: unknown, limiters: readonly RateLimiter[]): Cost<N> {
  if (typeof value === 'function') return value as Cost<N>;
  const cost = validateCost(value, option);
  for (const limiter of limiters) {
    for (const policy of limiter.policies) {
      if (policy.mode === 'enforce' && cost > capacityOf(policy)) {
        throw new InvalidOptionError(
          option,
          value,
          `at most ${capacityOf(policy)}, the capacity of policy '${policy.name}' (a larger cost could never be admitted)`,
        );
      }
    }
  }
  return cost;
}

const limitKeys = ['name', 'limiter', 'key', 'cost'] as const;
const routeKeys = ['skip', 'cost', 'limits', 'guard'] as const;
const ruleKeys = ['path', 'methods', ...routeKeys] as const;
const skipKeys = ['paths', 'methods'] as const;
const headerKeys = ['legacy', 'draft', 'allowed'] as const;
const hookKeys = ['beforeLimit', 'onDecision', 'guard', 'onFinish', 'onError'] as const;

/** A {@link HeaderPlacement}: true, false or 'refusals'. */
function placementOption(name: string, value: unknown, fallback: HeaderPlacement): HeaderPlacement {
  if (value === undefined) return fallback;
  if (value === true || value === false || value === 'refusals') return value;
  throw new InvalidOptionError(name, value, "true, false or 'refusals'");
}

/** Validates `options`; see {@link HttpOptions} for their meaning. */
export function resolveOptions<N>(input: HttpOptions<N>): ResolvedOptions<N> {
  const options = objectOption('options', input, 'an object');
  onlyKnownKeys('', options, topLevel);

  const ipHeader = choiceOption('ipHeader', options.ipHeader ?? 'x-forwarded-for', [
    'x-forwarded-for',
    'forwarded',
  ]);
  const trustProxy = input.trustProxy ?? false;
  const ipKey = clientIp({ trustProxy, header: ipHeader });
  const fullIp = clientIp({ trustProxy, header: ipHeader, ipv4Prefix: 32, ipv6Prefix: 128 });
  const clientIpOf = (request: HttpRequest<N>) => fullIp(request)?.slice(3);

  /**
   * Compiles a list of limits. `fallback` is the cost of limits without one
   * of their own (the route's or the pipeline's), named `fallbackOption`.
   */
  const compileLimits = (
    option: string,
    value: unknown,
    fallback: Cost<N> | undefined,
    fallbackOption: string,
    limiterPath?: string,
  ): readonly CompiledLimit<N>[] => {
    if (!Array.isArray(value)) {
      throw new InvalidOptionError(option, value, 'an array of { limiter, key?, cost?, name? }');
    }
    const names = new Set<string>();
    const policyNames = new Map<string, string>();
    return Object.freeze(
      value.map((entry: unknown, index): CompiledLimit<N> => {
        const path = `${option}[${index}]`;
        const rule = objectOption(path, entry, 'an object { limiter, key?, cost?, name? }');
        onlyKnownKeys(path, rule, limitKeys);
        const name = nameOption(
          `${path}.name`,
          rule.name ?? `limit${index}`,
          /^[A-Za-z0-9._-]{1,64}$/,
          "1 to 64 characters from A-Z, a-z, 0-9, '.', '_', '-'",
        );
        if (names.has(name)) {
          throw new InvalidOptionError(`${path}.name`, name, 'a name no other limit here has');
        }
        names.add(name);
        const limiter = limiterOption(limiterPath ?? `${path}.limiter`, rule.limiter);
        for (const policy of limiter.policies) {
          const other = policyNames.get(policy.name);
          if (other !== undefined) {
            throw new InvalidOptionError(
              `${path}.limiter`,
              policy.name,
              `policy names that differ from those of limit '${other}' (rate-limit headers name policies)`,
            );
          }
          policyNames.set(policy.name, name);
        }
        const key =
          functionOption<KeyFunction<HttpRequest<N>>>(
            `${path}.key`,
            rule.key,
            'a key function such as clientIp(), userKey() or apiKey()',
          ) ?? ipKey;
        const ownCost =
          rule.cost === undefined ? undefined : costOption<N>(`${path}.cost`, rule.cost, [limiter]);
        if (ownCost === undefined && fallback !== undefined) {
          costOption<N>(fallbackOption, fallback, [limiter]);
        }
        const cost = ownCost ?? fallback;
        return Object.freeze({
          name,
          limiter,
          key,
          cost,
          policyField: policyField(limiter.policies),
        });
      }),
    );
  };

  // The pipeline's own limits.
  if (options.limiter !== undefined && options.limits !== undefined) {
    throw new InvalidOptionError('limits', options.limits, 'no `limits` when `limiter` is given');
  }
  if (options.limiter === undefined && options.limits === undefined) {
    throw new InvalidOptionError(
      'limiter',
      undefined,
      'a RateLimiter from createRateLimiter(), or `limits` (an empty array for none)',
    );
  }
  if (options.limiter === undefined && options.key !== undefined) {
    throw new InvalidOptionError(
      'key',
      options.key,
      'no `key` without `limiter` (give each limit its key)',
    );
  }
  const globalCost =
    options.cost === undefined ? undefined : costOption<N>('cost', options.cost, []);
  const defaultLimits =
    options.limiter !== undefined
      ? compileLimits(
          'limits',
          [
            options.key === undefined
              ? { name: 'default', limiter: options.limiter }
              : { name: 'default', limiter: options.limiter, key: options.key },
          ],
          globalCost,
          'cost',
          'limiter',
        )
      : compileLimits('limits', options.limits, globalCost, 'cost');
  const defaultGuard = (() => {
    if (options.hooks === undefined) return undefined;
    const hooks = objectOption('hooks', options.hooks, 'an object');
    return functionOption<Guard<N>>('hooks.guard', hooks.guard, 'a guard function');
  })();
  const defaults: CompiledRoute<N> = Object.freeze({
    skip: false,
    limits: defaultLimits,
    guard: defaultGuard,
  });

  const compileRoute = (
    value: unknown,
    option: string,
    known: readonly string[],
  ): CompiledRoute<N> => {
    const settings = objectOption(option, value, 'an object of route settings');
    onlyKnownKeys(option, settings, known);
    const skip = booleanOption(`${option}.skip`, settings.skip, false);
    let limits: readonly CompiledLimit<N>[];
    if (settings.limits !== undefined) {
      const routeCost =
        settings.cost === undefined
          ? globalCost
          : costOption<N>(`${option}.cost`, settings.cost, []);
      limits = compileLimits(
        `${option}.limits`,
        settings.limits,
        routeCost,
        settings.cost === undefined ? 'cost' : `${option}.cost`,
      );
    } else if (settings.cost !== undefined) {
      const cost = costOption<N>(
        `${option}.cost`,
        settings.cost,
        defaultLimits.map((limit) => limit.limiter),
      );
      limits = Object.freeze(defaultLimits.map((limit) => Object.freeze({ ...limit, cost })));
    } else {
      limits = defaultLimits;
    }
    let guard = defaultGuard;
    if (settings.guard === false) guard = undefined;
    else if (settings.guard !== undefined) {
      guard = functionOption<Guard<N>>(
        `${option}.guard`,
        settings.guard,
        'a guard function or false',
      );
    }
    return Object.freeze({ skip, limits, guard });
  };

  const routes =
    options.routes === undefined
      ? []
      : (() => {
          if (!Array.isArray(options.routes)) {
            throw new InvalidOptionError(
              'routes',
              options.routes,
              'an array of { path, methods?, ... }',
            );
          }
          return options.routes.map((entry: unknown, index) => {
            const option = `routes[${index}]`;
            const rule = objectOption(
              option,
              entry,
              'an object { path, methods?, skip?, cost?, limits?, guard? }',
            );
            const match = requestMatcher(option, rule.path, rule.methods);
            const { path: _path, methods: _methods, ...settings } = rule;
            onlyKnownKeys(option, rule, ruleKeys);
            return Object.freeze({ match, route: compileRoute(settings, option, routeKeys) });
          });
        })();

  let skipList: RequestMatcher | undefined;
  let skipFunction: ResolvedOptions<N>['skipFunction'];
  if (typeof options.skip === 'function') {
    skipFunction = options.skip as ResolvedOptions<N>['skipFunction'];
  } else if (options.skip !== undefined) {
    const skip = objectOption(
      'skip',
      options.skip,
      'a skip list { paths?, methods? } or a predicate',
    );
    onlyKnownKeys('skip', skip, skipKeys);
    const paths =
      skip.paths === undefined
        ? []
        : Array.isArray(skip.paths)
          ? skip.paths.map((path: unknown, index) => pathMatcher(`skip.paths[${index}]`, path))
          : (() => {
              throw new InvalidOptionError(
                'skip.paths',
                skip.paths,
                'an array of paths or RegExps',
              );
            })();
    const methods =
      skip.methods === undefined ? undefined : methodSet('skip.methods', skip.methods);
    skipList = (lower, raw, method) => {
      if (methods?.has(method.toUpperCase())) return true;
      for (let i = 0; i < paths.length; i++) if (paths[i]!(lower, raw)) return true;
      return false;
    };
  }

  let headers: HeaderFormat = {
    refused: { legacy: true, draft: true },
    admitted: { legacy: true, draft: false },
  };
  if (options.headers === false) {
    const none = { legacy: false, draft: false };
    headers = { refused: none, admitted: none };
  } else if (options.headers !== undefined) {
    const given = objectOption(
      'headers',
      options.headers,
      'false, or { legacy?, draft?, allowed? }',
    );
    onlyKnownKeys('headers', given, headerKeys);
    const legacy = placementOption('headers.legacy', given.legacy, true);
    const draft = placementOption('headers.draft', given.draft, 'refusals');
    const allowed = booleanOption('headers.allowed', given.allowed, true);
    headers = {
      refused: { legacy: legacy !== false, draft: draft !== false },
      admitted: { legacy: allowed && legacy === true, draft: allowed && draft === true },
    };
  }

  const errorFormat = choiceOption('errorFormat', options.errorFormat ?? 'json', [
    'json',
    'problem+json',
  ]);
  let problemTypeBase: string | undefined;
  if (options.problemTypeBase !== undefined) {
    problemTypeBase = nameOption(
      'problemTypeBase',
      options.problemTypeBase,
      /^[a-z][a-z0-9+.-]*:[^\s"\\]{1,2000}$/i,
      "an absolute URI to which the error code is appended, such as 'https://api.example.com/problems/'",
    );
  }

  let beforeLimit: readonly BeforeLimitHook<N>[] = [];
  let onDecision: readonly DecisionHook<N>[] = [];
  let onFinish: readonly FinishHook[] = [];
  let onError: ResolvedOptions<N>['onError'] = (error) => {
    console.error('lockwatch: a pipeline hook failed', error);
  };
  if (options.hooks !== undefined) {
    const hooks = options.hooks as Record<string, unknown>;
    onlyKnownKeys('hooks', hooks, hookKeys);
    beforeLimit = hookList<BeforeLimitHook<N>>('hooks.beforeLimit', hooks.beforeLimit);
    onDecision = hookList<DecisionHook<N>>('hooks.onDecision', hooks.onDecision);
    onFinish = hookList<FinishHook>('hooks.onFinish', hooks.onFinish);
    onError =
      functionOption<ResolvedOptions<N>['onError']>('hooks.onError', hooks.onError, 'a function') ??
      onError;
  }

  let clock: Pick<Clock, 'now'> = Date;
  if (options.clock !== undefined) {
    const given = options.clock as Clock;
    if (typeof given !== 'object' || given === null || typeof given.now !== 'function') {
      throw new InvalidOptionError('clock', options.clock, 'a Clock with now()');
    }
    clock = given;
  }

  return {
    defaults,
    routes: Object.freeze(routes),
    skipList,
    skipFunction,
    headers: Object.freeze(headers),
    reply: Object.freeze({ errorFormat, problemTypeBase }),
    beforeLimit,
    onDecision,
    onFinish,
    onError,
    clock,
    clientIpOf,
    requestId: functionOption('requestId', options.requestId, 'a function from request to id'),
    compileRoute: (settings, option) => compileRoute(settings, option, routeKeys),
  };
}
