/** Pipeline and adapter options are validated at construction, with errors that name the option. */
import { describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../../src/domain/config/errors.ts';
import { honoLockWatch } from '../../src/http/hono.ts';
import { createHttpPipeline, type HttpOptions } from '../../src/http/index.ts';
import { nodeLockWatch } from '../../src/http/node.ts';
import { limited } from '../contracts/http/fixtures.ts';
import { startFastify } from './servers.ts';

function optionOf(make: () => unknown): string {
  try {
    make();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidOptionError);
    return (error as InvalidOptionError).option;
  }
  throw new Error('no error thrown');
}

const { limiter } = limited();
const small = limited([
  { name: 'small', limit: 2, window: '1s', algorithm: 'fixed-window' },
]).limiter;
const same = limited([{ name: 'api', limit: 9, window: '1s' }]).limiter;

describe('HTTP options', () => {
  const cases: [string, unknown][] = [
    ['options', null],
    ['trustproxy', { limiter, trustproxy: 1 }],
    ['limiter', {}],
    ['limiter', { limiter: { check() {} } }],
    ['limits', { limiter, limits: [] }],
    ['key', { limits: [], key: () => 'x' }],
    ['limits[0].key', { limits: [{ limiter, key: 'ip' }] }],
    ['limits[0].limiter', { limits: [{ limiter: 3 }] }],
    ['limits[0].rate', { limits: [{ limiter, rate: 3 }] }],
    [
      'limits[1].name',
      {
        limits: [
          { name: 'a', limiter },
          { name: 'a', limiter: small },
        ],
      },
    ],
    ['limits[1].limiter', { limits: [{ limiter }, { limiter: same }] }],
    ['limits[0].name', { limits: [{ name: 'has space', limiter }] }],
    ['cost', { limiter, cost: 4 }],
    ['cost', { limiter, cost: -1 }],
    ['cost', { limiter, cost: 1.5 }],
    ['limits[0].cost', { limits: [{ limiter: small, cost: 3 }] }],
    ['routes', { limiter, routes: {} }],
    ['routes[0].path', { limiter, routes: [{ path: 'search' }] }],
    ['routes[0].path', { limiter, routes: [{ path: /x/g }] }],
    ['routes[0].methods[0]', { limiter, routes: [{ path: '/a', methods: ['GE T'] }] }],
    ['routes[0].cost', { limiter, routes: [{ path: '/a', cost: 10 }] }],
    ['routes[0].skip', { limiter, routes: [{ path: '/a', skip: 'yes' }] }],
    ['routes[0].guard', { limiter, routes: [{ path: '/a', guard: true }] }],
    ['routes[0].limit', { limiter, routes: [{ path: '/a', limit: 3 }] }],
    ['routes[0].limits[0].limiter', { limiter, routes: [{ path: '/a', limits: [{}] }] }],
    ['skip', { limiter, skip: 'health' }],
    ['skip.paths[1]', { limiter, skip: { paths: ['/a', 'b'] } }],
    ['skip.methods', { limiter, skip: { methods: 'GET' } }],
    ['skip.path', { limiter, skip: { path: ['/a'] } }],
    ['headers', { limiter, headers: true }],
    ['headers.legacy', { limiter, headers: { legacy: 'yes' } }],
    ['headers.draft', { limiter, headers: { draft: 'always' } }],
    ['headers.allowed', { limiter, headers: { allowed: 'refusals' } }],
    ['headers.ietf', { limiter, headers: { ietf: true } }],
    ['errorFormat', { limiter, errorFormat: 'xml' }],
    ['problemTypeBase', { limiter, problemTypeBase: 'not a uri' }],
    ['hooks.onFinish[1]', { limiter, hooks: { onFinish: [() => {}, 3] } }],
    ['hooks.onDecision', { limiter, hooks: { onDecision: 'x' } }],
    ['hooks.guard', { limiter, hooks: { guard: {} } }],
    ['hooks.beforeLimit[0]', { limiter, hooks: { beforeLimit: [null] } }],
    ['hooks.onStart', { limiter, hooks: { onStart: () => {} } }],
    ['trustProxy', { limiter, trustProxy: true }],
    ['trustProxy[0]', { limiter, trustProxy: ['10.0.0.0/33'] }],
    ['ipHeader', { limiter, ipHeader: 'x-real-ip' }],
    ['clock', { limiter, clock: {} }],
    ['requestId', { limiter, requestId: 'x' }],
  ];
  for (const [option, options] of cases) {
    it(`names ${option}`, () => {
      expect(optionOf(() => createHttpPipeline(options as HttpOptions))).toBe(option);
    });
  }

  it('accepts every option at once, and no limits at all', () => {
    expect(() =>
      createHttpPipeline({
        limits: [
          { name: 'ip', limiter, cost: 1 },
          { name: 'small', limiter: small, cost: (r) => r.path.length },
        ],
        cost: 2,
        trustProxy: ['10.0.0.0/8'],
        ipHeader: 'forwarded',
        skip: { paths: ['/health', '/static/*', /^\/x/], methods: ['options'] },
        routes: [
          {
            path: '/a/*',
            methods: ['POST'],
            cost: 0,
            skip: false,
            guard: false,
            limits: [{ limiter }],
          },
        ],
        headers: { legacy: 'refusals', draft: true, allowed: false },
        errorFormat: 'problem+json',
        problemTypeBase: 'https://api.example.com/problems/',
        hooks: {
          beforeLimit: () => undefined,
          onDecision: [() => undefined],
          guard: () => ({ allow: true }),
          onFinish: () => {},
          onError: () => {},
        },
        clock: { now: () => 0, schedule: () => () => {} },
        requestId: () => 'id',
      }),
    ).not.toThrow();
    expect(() => createHttpPipeline({ limits: [] })).not.toThrow();
  });

  it('validates adapter options too', () => {
    expect(optionOf(() => nodeLockWatch({ limiter }, undefined as never))).toBe('listener');
    expect(optionOf(() => nodeLockWatch({ limiter }, () => {}, { onError: 1 as never }))).toBe(
      'onError',
    );
    expect(optionOf(() => honoLockWatch({ limiter }, { remoteAddress: 'x' as never }))).toBe(
      'remoteAddress',
    );
    expect(optionOf(() => nodeLockWatch({ limiter, cost: 9 }, () => {}))).toBe('cost');
  });

  it('validates Fastify plugin options and route config when the route is added', async () => {
    await expect(startFastify({ limiter, hook: 'onSend' as never })).rejects.toMatchObject({
      option: 'hook',
    });
    await expect(startFastify({ limiter, trustproxy: 1 } as never)).rejects.toMatchObject({
      option: 'trustproxy',
    });
    await expect(
      startFastify({ limiter }, (app) => {
        app.get('/bad', { config: { lockwatch: { cost: 99 } } }, async () => 'x');
      }),
    ).rejects.toMatchObject({ option: 'config.lockwatch of route GET /bad.cost' });
  });
});
