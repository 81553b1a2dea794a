/** The pipeline without sockets: header items, paths, contexts, finish, failures across limits. */
import { describe, expect, it } from 'vitest';
import { definePolicy } from '../../src/domain/ratelimit/policy.ts';
import {
  ceilSeconds,
  createHttpPipeline,
  type FinishEvent,
  type HttpRequest,
  pathOf,
  policyField,
  policyItem,
} from '../../src/http/index.ts';
import { createRateLimiter } from '../../src/rate-limiter.ts';
import { limited } from '../contracts/http/fixtures.ts';
import { createSwitchableStore } from '../support/switchable-store.ts';

const request = (path = '/', headers: HttpRequest['headers'] = {}): HttpRequest => ({
  method: 'GET',
  path,
  remoteAddress: '127.0.0.1',
  headers,
  raw: undefined,
});

describe('header items', () => {
  it('advertise capacity and the seconds that refill it, per algorithm', () => {
    expect(policyItem(definePolicy({ name: 'g', limit: 100, window: '60s' }))).toBe(
      '"g";q=100;w=60',
    );
    expect(policyItem(definePolicy({ name: 'b', limit: 10, window: '60s', burst: 30 }))).toBe(
      '"b";q=30;w=180',
    );
    expect(policyItem(definePolicy({ name: 'b', limit: 60, window: '60s', burst: 1 }))).toBe(
      '"b";q=1;w=1',
    );
    expect(
      policyItem(definePolicy({ name: 's', limit: 5, window: '1h', algorithm: 'sliding-window' })),
    ).toBe('"s";q=5;w=3600');
    expect(
      policyItem(definePolicy({ name: 'f', limit: 5, window: 1500, algorithm: 'fixed-window' })),
    ).toBe('"f";q=5;w=2');
    expect(
      policyItem(definePolicy({ name: 'l', limit: 5, window: '250ms', algorithm: 'sliding-log' })),
    ).toBe('"l";q=5;w=1');
    expect(
      policyField([
        definePolicy({ name: 'a', limit: 1, window: '1s' }),
        definePolicy({ name: 'o', limit: 1, window: '1s', mode: 'observe' }),
        definePolicy({ name: 'c', limit: 2, window: '2s' }),
      ]),
    ).toBe('"a";q=1;w=1, "c";q=2;w=2');
    expect(ceilSeconds(0)).toBe(0);
    expect(ceilSeconds(-1)).toBe(0);
    expect(ceilSeconds(1)).toBe(1);
    expect(ceilSeconds(1000)).toBe(1);
    expect(ceilSeconds(1001)).toBe(2);
  });
});

describe('pathOf', () => {
  it('drops the query and the scheme and host of an absolute-form target', () => {
    expect(pathOf('/a/b?x=1&y')).toBe('/a/b');
    expect(pathOf('/?')).toBe('/');
    expect(pathOf('')).toBe('/');
    expect(pathOf(undefined)).toBe('/');
    expect(pathOf('http://example.com/a?x')).toBe('/a');
    expect(pathOf('https://example.com')).toBe('/');
    expect(pathOf('*')).toBe('*');
    expect(pathOf('/admin#x')).toBe('/admin');
    expect(pathOf('/a#b?c')).toBe('/a');
    expect(pathOf('#x')).toBe('/');
  });
});

describe('pipeline', () => {
  it('runs finish hooks once, and reports an aborted request as 499', async () => {
    const { limiter, clock } = limited();
    const events: FinishEvent[] = [];
    const pipeline = createHttpPipeline({
      limiter,
      clock,
      hooks: { onFinish: (e) => events.push(e) },
    });
    const first = await pipeline.begin(request());
    pipeline.finish(first.context, 200);
    pipeline.finish(first.context, 500);
    const second = await pipeline.begin(request());
    pipeline.finish(second.context, 200, true);
    expect(events.map((e) => [e.statusCode, e.aborted])).toEqual([
      [200, false],
      [499, true],
    ]);
    // Contexts of another pipeline, or made up, are ignored.
    pipeline.finish({} as never, 200);
    expect(events).toHaveLength(2);
  });

  it('reports throwing hooks to onError and goes on', async () => {
    const { limiter, clock } = limited();
    const errors: unknown[] = [];
    const pipeline = createHttpPipeline({
      limiter,
      clock,
      hooks: {
        beforeLimit: () => {
          throw new Error('before');
        },
        onDecision: async () => {
          throw new Error('decision');
        },
        onFinish: () => {
          throw new Error('finish');
        },
        onError: (error, context) => errors.push([(error as Error).message, context?.path]),
      },
    });
    const { context, reply } = await pipeline.begin(request('/x'));
    expect(reply).toBeUndefined();
    pipeline.finish(context, 200);
    expect(errors).toEqual([
      ['before', '/x'],
      ['decision', '/x'],
      ['finish', '/x'],
    ]);
  });

  it('refunds the limits that admitted when another one fails, then fails the request', async () => {
    const { limiter, clock } = limited([
      { name: 'ip', limit: 5, window: '60s', algorithm: 'fixed-window' },
    ]);
    const broken = createSwitchableStore(clock, 'fail');
    const other = createRateLimiter({
      store: broken,
      policies: [{ name: 'user', limit: 5, window: '60s' }],
      clock,
      failure: false,
    });
    const pipeline = createHttpPipeline({
      clock,
      limits: [
        { name: 'ip', limiter },
        { name: 'user', limiter: other, key: () => 'user:1' },
      ],
    });
    await expect(pipeline.begin(request())).rejects.toMatchObject({ code: 'store_unavailable' });
    expect((await limiter.peek('ip:127.0.0.1')).remaining).toBe(5);
  });

  it('validates anomaly kinds and serializes the context', async () => {
    const { limiter, clock } = limited();
    const pipeline = createHttpPipeline({ limiter, clock });
    const { context } = await pipeline.begin(request('/p', { 'x-request-id': 'r-1' }));
    expect(() => context.flagAnomaly('Not A Kind')).toThrow(/kind/);
    context.flagAnomaly('burst');
    context.flagAnomaly('burst');
    expect(context.anomalies).toEqual(['burst']);
    expect(JSON.parse(JSON.stringify(context))).toMatchObject({
      requestId: 'r-1',
      path: '/p',
      ip: '127.0.0.1',
      rateLimited: false,
      anomalies: ['burst'],
      checks: [{ limit: 'default', subject: 'ip:127.0.0.1' }],
    });
  });

  it('leaves a request whose key gives no subject out of that limit', async () => {
    const { limiter, clock } = limited();
    const pipeline = createHttpPipeline({ limiter, clock });
    const admission = await pipeline.begin({ ...request(), remoteAddress: undefined });
    expect(admission.context.checks).toEqual([]);
    expect(admission.context.decision).toBeUndefined();
    expect(admission.headers).toEqual({});
    expect(admission.context.ip).toBeUndefined();
  });
});
