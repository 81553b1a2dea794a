import type { Dispatcher } from 'undici';
import { alertPayload } from '../../domain/alerts/alert.ts';
import { InvalidOptionError } from '../../domain/config/errors.ts';
import { redactUrl } from '../../domain/config/redact.ts';
import { integerOption } from '../../domain/config/validate.ts';
import { LockWatchError } from '../../domain/errors.ts';
import {
  type BreakerOptions,
  type BreakerState,
  type CircuitBreaker,
  createCircuitBreaker,
  defineBreakerSettings,
} from '../../domain/failure/circuit-breaker.ts';
import { createListenerSet, type Listener } from '../../domain/failure/listeners.ts';
import type { Alert, AlertSink } from '../../ports/alert-sink.ts';
import type { Clock } from '../../ports/clock.ts';
import { systemClock } from '../clock/system.ts';
import { parseWebhookSecret, signWebhook, type WebhookSecret } from './signature.ts';

/** One receiver. */
export interface WebhookEndpointOptions {
  /** `http:` or `https:` URL the alerts are POSTed to. */
  readonly url: string;
  /** Its `whsec_` secret; several while rotating (each attempt carries one signature per secret). */
  readonly secret: string | readonly string[];
  /** Name in counts and events; host and path of the URL by default. */
  readonly name?: string | undefined;
}

/** Retry schedule: jittered exponential backoff. */
export interface WebhookBackoffOptions {
  /** Delay before the first retry, before jitter, ms: 1 to 600,000; 1,000 by default. */
  readonly baseMs?: number | undefined;
  /** Largest delay, ms: 1 to 3,600,000; 60,000 by default. */
  readonly maxMs?: number | undefined;
}

/** Options of {@link createWebhookAlertSink}. */
export interface WebhookAlertSinkOptions {
  /** The receivers: 1 to 32, each with its own queue, breaker and secret. */
  readonly endpoints: readonly WebhookEndpointOptions[];
  /** Timeout of one attempt (connect, send, answer), ms: 1 to 120,000; 5,000 by default. */
  readonly timeoutMs?: number | undefined;
  /** Attempts per alert and receiver, the first included: 1 to 20; 5 by default. */
  readonly attempts?: number | undefined;
  /** Backoff between attempts. */
  readonly backoff?: WebhookBackoffOptions | undefined;
  /** A Retry-After longer than this (ms; 0 to 3,600,000; 60,000 by default) ends the retries: the alert is failed rather than parked. */
  readonly maxRetryAfterMs?: number | undefined;
  /** Alerts waiting per receiver: 1 to 1,000,000; 1,000 by default. Past it they are dropped and counted. */
  readonly queueSize?: number | undefined;
  /** Deliveries in flight per receiver, and the connection cap per origin: 1 to 64; 4 by default. */
  readonly concurrency?: number | undefined;
  /** Idle keep-alive of pooled connections, ms: 1 to 600,000; 30,000 by default. */
  readonly keepAliveMs?: number | undefined;
  /** Per-receiver breaker: consecutive failed attempts that pause it (5) and the pause (30 s). */
  readonly breaker?: BreakerOptions | undefined;
  /** How long `close()` lets deliveries finish before it aborts them and fails the rest, ms: 0 to 600,000; 10,000 by default. Measured on `clock` and on the wall clock, whichever ends first; the process stays alive meanwhile. */
  readonly drainTimeoutMs?: number | undefined;
  /** Time source of backoff, breaker, timestamps and the drain deadline; the system clock by default. */
  readonly clock?: Clock | undefined;
  /** Uniform random numbers in [0, 1) for jitter; `Math.random` by default. */
  readonly random?: (() => number) | undefined;
  /** An undici dispatcher to send through (left open on close); by default the sink makes one shared Agent and closes it. */
  readonly dispatcher?: Dispatcher | undefined;
  /** User-Agent of the requests; `lockwatch-webhook` by default. */
  readonly userAgent?: string | undefined;
  /** Receives every {@link WebhookEvent}; same as calling `on` right away. */
  readonly onEvent?: Listener<WebhookEvent> | undefined;
}

/** Why a delivery to one receiver failed for good. */
export type WebhookFailureReason =
  /** The receiver answered a status that is never retried (4xx other than 408 and 429, 3xx). */
  | 'rejected'
  /** Every attempt failed with a retryable outcome. */
  | 'attempts_exhausted'
  /** The receiver asked (Retry-After) for a longer wait than `maxRetryAfterMs`. */
  | 'retry_after_too_long'
  /** The receiver's breaker is open: it failed too often lately. */
  | 'circuit_open'
  /** `close()` gave up on it at the drain deadline. */
  | 'closed'
  /** undici is not installed. */
  | 'client_missing';

/** What the webhook sink reports, per receiver. */
export type WebhookEvent =
  | {
      readonly type: 'delivered';
      readonly endpoint: string;
      readonly alertId: string;
      readonly attempts: number;
      readonly status: number;
    }
  | {
      readonly type: 'retry';
      readonly endpoint: string;
      readonly alertId: string;
      /** The attempt that failed, from 1. */
      readonly attempt: number;
      /** Wait before the next attempt, ms of the sink's clock. */
      readonly delayMs: number;
      /** `timeout`, `network` or `status`. */
      readonly cause: 'timeout' | 'network' | 'status';
      readonly status?: number | undefined;
    }
  | {
      readonly type: 'failed';
      readonly endpoint: string;
      readonly alertId: string;
      readonly attempts: number;
      readonly reason: WebhookFailureReason;
      readonly status?: number | undefined;
      readonly error?: unknown;
    }
  | {
      readonly type: 'dropped';
      readonly endpoint: string;
      readonly alertId: string;
      readonly reason: 'queue_full';
    }
  | {
      readonly type: 'state';
      readonly endpoint: string;
      readonly from: BreakerState;
      readonly to: BreakerState;
      readonly at: number;
    };

/** Per-receiver totals; `accepted = delivered + failed + pending`. */
export interface WebhookEndpointCounts {
  /** Alerts queued for this receiver. */
  readonly accepted: number;
  /** Answered 2xx. */
  readonly delivered: number;
  /** Given up (see {@link WebhookFailureReason}). */
  readonly failed: number;
  /** Not queued: the receiver's queue was full. */
  readonly dropped: number;
  /** Attempts after the first. */
  readonly retries: number;
  /** Queued or in flight now. */
  readonly pending: number;
}

/** The state of one receiver. */
export interface WebhookEndpointStatus {
  readonly name: string;
  readonly url: string;
  readonly breaker: BreakerState;
  readonly counts: WebhookEndpointCounts;
}

/** An {@link AlertSink} that POSTs signed alerts to webhook receivers. */
export interface WebhookAlertSink extends AlertSink {
  /** Per-receiver state and counts, in endpoint order. */
  readonly endpoints: readonly WebhookEndpointStatus[];
  /** Adds an event listener; returns a function that removes it. */
  on(listener: Listener<WebhookEvent>): () => void;
}

/** `send` found every receiver's queue full, or the sink closed. */
export class WebhookQueueError extends LockWatchError {
  constructor(code: 'webhook_queue_full' | 'webhook_sink_closed', message: string) {
    super(code, message);
  }
}

/** undici, an optional peer dependency, could not be loaded. */
export class WebhookClientMissingError extends LockWatchError {
  constructor(cause: unknown) {
    super(
      'webhook_client_missing',
      'The webhook sink needs undici: npm install undici (an optional peer dependency of lockwatch).',
      { cause },
    );
  }
}

interface Item {
  readonly id: string;
  readonly body: string;
}

interface Endpoint {
  readonly name: string;
  readonly url: string;
  readonly origin: string;
  readonly path: string;
  readonly secrets: readonly WebhookSecret[];
  readonly breaker: CircuitBreaker;
  queue: Item[];
  head: number;
  active: number;
  accepted: number;
  delivered: number;
  failed: number;
  dropped: number;
  retries: number;
  probe: Promise<void> | undefined;
}

type Attempt =
  | { readonly kind: 'ok'; readonly status: number }
  | {
      readonly kind: 'retry';
      readonly cause: 'timeout' | 'network' | 'status';
      readonly status?: number;
      readonly retryAfterMs?: number;
      readonly error?: unknown;
    }
  | { readonly kind: 'rejected'; readonly status: number }
  | { readonly kind: 'closed' }
  | { readonly kind: 'missing'; readonly error: unknown };

/**
 * Creates the webhook sink. `send` never waits for a receiver: it serializes
 * the payload once and puts it on each receiver's bounded queue (dropping,
 * and counting, where a queue is full), so a slow or dead receiver delays
 * neither the request path nor the other receivers. Each receiver has its
 * own workers (`concurrency`), its own breaker, and its own connections in
 * one shared undici Agent (keep-alive, `concurrency` connections per origin).
 *
 * An attempt is one signed POST under `AbortSignal.timeout(timeoutMs)`.
 * Network errors, timeouts, 408, 429 and 5xx are retried up to `attempts`
 * with jittered exponential backoff (a Retry-After is honoured as the
 * smallest wait); other statuses are final. Every attempt of one alert
 * carries the alert id as `webhook-id`, with a fresh timestamp and
 * signature. Once a receiver's breaker opens, its alerts fail at once (no
 * request) until a probe gets through after the cooldown.
 */
export function createWebhookAlertSink(options: WebhookAlertSinkOptions): WebhookAlertSink {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionError('options', options, 'an object with endpoints');
  }
  const clock = options.clock ?? systemClock;
  const random = options.random ?? Math.random;
  const timeoutMs = integerOption('timeoutMs', options.timeoutMs ?? 5000, 1, 120_000);
  const attempts = integerOption('attempts', options.attempts ?? 5, 1, 20);
  const baseMs = integerOption('backoff.baseMs', options.backoff?.baseMs ?? 1000, 1, 600_000);
  const maxMs = integerOption('backoff.maxMs', options.backoff?.maxMs ?? 60_000, 1, 3_600_000);
  const maxRetryAfterMs = integerOption(
    'maxRetryAfterMs',
    options.maxRetryAfterMs ?? 60_000,
    0,
    3_600_000,
  );
  const queueSize = integerOption('queueSize', options.queueSize ?? 1000, 1, 1_000_000);
  const concurrency = integerOption('concurrency', options.concurrency ?? 4, 1, 64);
  const keepAliveMs = integerOption('keepAliveMs', options.keepAliveMs ?? 30_000, 1, 600_000);
  const drainTimeoutMs = integerOption(
    'drainTimeoutMs',
    options.drainTimeoutMs ?? 10_000,
    0,
    600_000,
  );
  const breakerSettings = defineBreakerSettings(
    { failureThreshold: 5, cooldownMs: 30_000, ...options.breaker },
    'breaker',
  );
  const userAgent = options.userAgent ?? 'lockwatch-webhook';
  const events = createListenerSet<WebhookEvent>();
  if (options.onEvent !== undefined) events.add(options.onEvent);

  if (!Array.isArray(options.endpoints) || options.endpoints.length === 0) {
    throw new InvalidOptionError('endpoints', options.endpoints, 'a non-empty array of endpoints');
  }
  if (options.endpoints.length > 32) {
    // The count, not the list: the endpoints hold secrets and URLs with tokens in them.
    throw new InvalidOptionError(
      'endpoints',
      `(${options.endpoints.length} endpoints)`,
      'at most 32 endpoints',
    );
  }
  const names = new Set<string>();
  const endpoints: Endpoint[] = options.endpoints.map((endpoint, index) => {
    const path = `endpoints[${index}]`;
    if (typeof endpoint !== 'object' || endpoint === null) {
      throw new InvalidOptionError(path, endpoint, 'an object with url and secret');
    }
    // Scheme and host only in the error: a webhook URL often carries its token in the path.
    const shown = typeof endpoint.url === 'string' ? redactUrl(endpoint.url, 'host') : endpoint.url;
    let url: URL;
    try {
      url = new URL(endpoint.url);
    } catch {
      throw new InvalidOptionError(`${path}.url`, shown, 'an http: or https: URL');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new InvalidOptionError(`${path}.url`, shown, 'an http: or https: URL');
    }
    if (url.username !== '' || url.password !== '') {
      // They would not be sent (fetch refuses them too): the receiver would answer 401 to every alert.
      throw new InvalidOptionError(
        `${path}.url`,
        shown,
        'a URL without user:password (receivers authenticate deliveries by their signature, from the endpoint secret)',
      );
    }
    const secretList = typeof endpoint.secret === 'string' ? [endpoint.secret] : endpoint.secret;
    if (!Array.isArray(secretList) || secretList.length === 0) {
      throw new InvalidOptionError(`${path}.secret`, '(hidden)', 'a whsec_ secret or an array');
    }
    const secrets = secretList.map((secret, i) =>
      parseWebhookSecret(
        secret,
        typeof endpoint.secret === 'string' ? `${path}.secret` : `${path}.secret[${i}]`,
      ),
    );
    const name = endpoint.name ?? `${url.host}${url.pathname}`;
    if (typeof name !== 'string' || name === '' || names.has(name)) {
      throw new InvalidOptionError(`${path}.name`, name, 'a name no other endpoint has');
    }
    names.add(name);
    const state: Endpoint = {
      name,
      url: `${url.origin}${url.pathname}`,
      origin: url.origin,
      path: `${url.pathname}${url.search}`,
      secrets,
      breaker: createCircuitBreaker({
        clock,
        ...breakerSettings,
        onStateChange: ({ from, to, at }) =>
          events.emit({ type: 'state', endpoint: name, from, to, at }),
      }),
      queue: [],
      head: 0,
      active: 0,
      accepted: 0,
      delivered: 0,
      failed: 0,
      dropped: 0,
      retries: 0,
      probe: undefined,
    };
    return state;
  });

  const originCounts = new Map<string, number>();
  for (const endpoint of endpoints) {
    originCounts.set(endpoint.origin, (originCounts.get(endpoint.origin) ?? 0) + 1);
  }
  const endpointsPerOrigin = Math.max(...originCounts.values());

  // Aborts every request and backoff wait at the drain deadline of close().
  const shutdown = new AbortController();
  const ownsDispatcher = options.dispatcher === undefined;
  const client: Promise<Dispatcher> =
    options.dispatcher !== undefined
      ? Promise.resolve(options.dispatcher)
      : import('undici').then(
          ({ Agent }) =>
            new Agent({
              // The cap is per origin: endpoints sharing one get `concurrency` each, so a hung one
              // cannot hold the connections another needs.
              connections: concurrency * endpointsPerOrigin,
              keepAliveTimeout: keepAliveMs,
              keepAliveMaxTimeout: Math.max(keepAliveMs, 60_000),
              connect: { timeout: timeoutMs },
            }),
        );
  // The failure is reported per delivery; this only keeps it from being unhandled.
  client.catch(() => {});

  let closing: Promise<void> | undefined;
  let idle: (() => void) | undefined;
  const busy = () => endpoints.some((e) => e.active > 0 || e.head < e.queue.length);

  const fail = (
    endpoint: Endpoint,
    item: Item,
    tries: number,
    reason: WebhookFailureReason,
    status?: number,
    error?: unknown,
  ) => {
    endpoint.failed++;
    events.emit({
      type: 'failed',
      endpoint: endpoint.name,
      alertId: item.id,
      attempts: tries,
      reason,
      status,
      error,
    });
  };

  const attempt = async (endpoint: Endpoint, item: Item): Promise<Attempt> => {
    let dispatcher: Dispatcher;
    try {
      dispatcher = await client;
    } catch (error) {
      return { kind: 'missing', error: new WebhookClientMissingError(error) };
    }
    if (shutdown.signal.aborted) return { kind: 'closed' };
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = AbortSignal.any([timeout, shutdown.signal]);
    const headers = {
      'content-type': 'application/json',
      'user-agent': userAgent,
      ...signWebhook(endpoint.secrets, item.id, Math.floor(clock.now() / 1000), item.body),
    };
    try {
      const response = await dispatcher.request({
        origin: endpoint.origin,
        path: endpoint.path,
        method: 'POST',
        headers,
        body: item.body,
        signal,
      });
      const status = response.statusCode;
      // The body must be read for the connection to go back to the pool. A body that is slow or
      // cut short changes nothing the status said: a 2xx was delivered (a retry would duplicate it).
      await response.body.dump({ limit: 65_536, signal }).catch(() => {});
      if (status >= 200 && status < 300) return { kind: 'ok', status };
      if (status === 408 || status === 429 || status >= 500) {
        return {
          kind: 'retry',
          cause: 'status',
          status,
          retryAfterMs: retryAfter(response.headers['retry-after']),
        };
      }
      return { kind: 'rejected', status };
    } catch (error) {
      if (shutdown.signal.aborted) return { kind: 'closed' };
      return { kind: 'retry', cause: timeout.aborted ? 'timeout' : 'network', error };
    }
  };

  const retryAfter = (value: string | string[] | undefined): number | undefined => {
    const text = Array.isArray(value) ? value[0] : value;
    if (text === undefined) return undefined;
    if (/^\d{1,10}$/.test(text.trim())) return Number(text.trim()) * 1000;
    const date = Date.parse(text);
    return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
  };

  const backoff = (failedAttempt: number): number => {
    const ceiling = Math.min(maxMs, baseMs * 2 ** (failedAttempt - 1));
    // "Equal jitter": half fixed, half random, so retries never bunch at zero.
    return Math.round(ceiling / 2 + random() * (ceiling / 2));
  };

  const wait = (ms: number) =>
    new Promise<void>((resolve) => {
      if (shutdown.signal.aborted) return resolve();
      const cancel = clock.schedule(ms, done);
      function done() {
        cancel();
        shutdown.signal.removeEventListener('abort', done);
        resolve();
      }
      shutdown.signal.addEventListener('abort', done, { once: true });
    });

  const deliver = async (endpoint: Endpoint, item: Item) => {
    for (let tries = 1; ; tries++) {
      const admission = endpoint.breaker.admit();
      if (!admission.allowed) {
        if (endpoint.probe !== undefined) {
          // Half-open with a probe under way: its outcome decides for this one too.
          await endpoint.probe;
          tries--;
          continue;
        }
        return fail(endpoint, item, tries - 1, 'circuit_open');
      }
      const { permit } = admission;
      let settle: (() => void) | undefined;
      if (permit.probe) {
        endpoint.probe = new Promise<void>((resolve) => {
          settle = resolve;
        });
      }
      const outcome = await attempt(endpoint, item);
      if (outcome.kind === 'ok' || outcome.kind === 'rejected') endpoint.breaker.succeeded(permit);
      else if (outcome.kind === 'retry') endpoint.breaker.failed(permit);
      else endpoint.breaker.released(permit);
      if (settle !== undefined) {
        endpoint.probe = undefined;
        settle();
      }
      switch (outcome.kind) {
        case 'ok':
          endpoint.delivered++;
          events.emit({
            type: 'delivered',
            endpoint: endpoint.name,
            alertId: item.id,
            attempts: tries,
            status: outcome.status,
          });
          return;
        case 'rejected':
          return fail(endpoint, item, tries, 'rejected', outcome.status);
        case 'closed':
          return fail(endpoint, item, tries, 'closed');
        case 'missing':
          return fail(endpoint, item, tries, 'client_missing', undefined, outcome.error);
      }
      if (tries >= attempts) {
        return fail(endpoint, item, tries, 'attempts_exhausted', outcome.status, outcome.error);
      }
      let delayMs = backoff(tries);
      if (outcome.retryAfterMs !== undefined) {
        if (outcome.retryAfterMs > maxRetryAfterMs) {
          return fail(endpoint, item, tries, 'retry_after_too_long', outcome.status);
        }
        delayMs = Math.max(delayMs, outcome.retryAfterMs);
      }
      endpoint.retries++;
      const waited = wait(delayMs);
      events.emit({
        type: 'retry',
        endpoint: endpoint.name,
        alertId: item.id,
        attempt: tries,
        delayMs,
        cause: outcome.cause,
        status: outcome.status,
      });
      await waited;
      if (shutdown.signal.aborted) return fail(endpoint, item, tries, 'closed');
    }
  };

  const work = async (endpoint: Endpoint) => {
    endpoint.active++;
    try {
      while (endpoint.head < endpoint.queue.length) {
        const item = endpoint.queue[endpoint.head]!;
        endpoint.queue[endpoint.head++] = undefined as unknown as Item;
        if (endpoint.head > 1024 && endpoint.head * 2 > endpoint.queue.length) {
          endpoint.queue = endpoint.queue.slice(endpoint.head);
          endpoint.head = 0;
        }
        if (shutdown.signal.aborted) fail(endpoint, item, 0, 'closed');
        else await deliver(endpoint, item);
      }
    } finally {
      endpoint.active--;
      if (idle !== undefined && !busy()) idle();
    }
  };

  return {
    get endpoints() {
      return endpoints.map((e) => ({
        name: e.name,
        url: e.url,
        breaker: e.breaker.state,
        counts: {
          accepted: e.accepted,
          delivered: e.delivered,
          failed: e.failed,
          dropped: e.dropped,
          retries: e.retries,
          pending: e.accepted - e.delivered - e.failed,
        },
      }));
    },
    on: (listener) => events.add(listener),
    async send(alert: Alert) {
      if (closing !== undefined) {
        throw new WebhookQueueError('webhook_sink_closed', 'The webhook sink is closed.');
      }
      const item: Item = { id: alert.id, body: JSON.stringify(alertPayload(alert)) };
      let queued = 0;
      for (const endpoint of endpoints) {
        if (endpoint.queue.length - endpoint.head >= queueSize) {
          endpoint.dropped++;
          events.emit({
            type: 'dropped',
            endpoint: endpoint.name,
            alertId: alert.id,
            reason: 'queue_full',
          });
          continue;
        }
        endpoint.accepted++;
        endpoint.queue.push(item);
        queued++;
        if (endpoint.active < concurrency) void work(endpoint);
      }
      if (queued === 0) {
        throw new WebhookQueueError(
          'webhook_queue_full',
          'Every webhook receiver queue is full; the alert was dropped.',
        );
      }
    },
    close() {
      if (closing === undefined) {
        closing = (async () => {
          let cancelDeadline = () => {};
          let wallDeadline: ReturnType<typeof setTimeout> | undefined;
          if (busy()) {
            if (drainTimeoutMs === 0) shutdown.abort();
            else {
              cancelDeadline = clock.schedule(drainTimeoutMs, () => shutdown.abort());
              // The clock's timers never hold the process open (the system clock unrefs them), and
              // a hung receiver's backoff waits on them alone: the event loop would empty with
              // close() pending (exit code 13 under a top-level await). This one is ref'd, and
              // ends the drain at the same bound on the wall clock, so close() always settles.
              wallDeadline = setTimeout(() => shutdown.abort(), drainTimeoutMs);
            }
            await new Promise<void>((resolve) => {
              idle = resolve;
              if (!busy()) resolve();
            });
          }
          cancelDeadline();
          clearTimeout(wallDeadline);
          shutdown.abort();
          if (ownsDispatcher) {
            const dispatcher = await client.catch(() => undefined);
            await dispatcher?.destroy();
          }
        })();
      }
      return closing;
    },
  };
}
