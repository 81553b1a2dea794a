/** What each adapter adds to the shared pipeline: Fastify route config and hooks, Express mounts, Hono runtimes, node:http errors. */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import {
  createServer as createHttp2Server,
  connect as http2Connect,
  constants as http2Constants,
} from 'node:http2';
import { type AddressInfo, connect } from 'node:net';
import { serve as serveHono } from '@hono/node-server';
import express from 'express';
import { Hono } from 'hono';
import { request } from 'undici';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { customKey } from '../../src/domain/ratelimit/keys.ts';
import { expressLockWatch } from '../../src/http/express.ts';
import { honoLockWatch } from '../../src/http/hono.ts';
import { createHttpPipeline, type FinishEvent, type HttpReply } from '../../src/http/index.ts';
import { nodeLockWatch } from '../../src/http/node.ts';
import { limited } from '../contracts/http/fixtures.ts';
import { handlerBody } from '../contracts/http/harness.ts';
import { startFastify } from './servers.ts';

async function get(
  url: string,
  init: { method?: 'GET' | 'POST'; headers?: Record<string, string>; body?: string } = {},
) {
  const response = await request(url, init);
  const text = await response.body.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  // biome-ignore lint/suspicious/noExplicitAny: bodies are inspected field by field
  return { status: response.statusCode, headers: response.headers, text, json: json as any };
}

/** Listens on a free loopback port, closes at the end of the test, and returns the base URL. */
async function serveNode(listener: Parameters<typeof createServer>[1]): Promise<string> {
  const server = createServer(listener).listen(0, '127.0.0.1');
  await once(server, 'listening');
  onTestFinished(() => {
    server.closeAllConnections();
    server.close();
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('Fastify plugin', () => {
  it('applies per-route config: cost, own limits, false to skip', async () => {
    const { limiter, clock } = limited([
      { name: 'api', limit: 5, window: '60s', algorithm: 'fixed-window' },
    ]);
    const login = limited([{ name: 'login', limit: 1, window: '60s' }], { clock });
    const server = await startFastify({ limiter, clock }, (app) => {
      app.post('/search', { config: { lockwatch: { cost: 4 } } }, async (req) =>
        handlerBody('/search', req.lockwatch),
      );
      app.get('/health', { config: { lockwatch: false } }, async (req) =>
        handlerBody('/health', req.lockwatch),
      );
      app.post(
        '/login',
        { config: { lockwatch: { limits: [{ limiter: login.limiter }] } } },
        async () => 'ok',
      );
    });
    onTestFinished(() => server.close());
    const search = await get(`${server.url}/search`, { method: 'POST' });
    expect(search.headers['x-ratelimit-remaining']).toBe('1');
    expect(JSON.parse(search.text).context.checks[0].cost).toBe(4);
    expect((await get(`${server.url}/search`, { method: 'POST' })).status).toBe(429);
    const health = await get(`${server.url}/health`);
    expect(health.status).toBe(200);
    expect(JSON.parse(health.text).context.skipped).toBe(true);
    expect((await get(`${server.url}/login`, { method: 'POST' })).status).toBe(200);
    expect((await get(`${server.url}/login`, { method: 'POST' })).status).toBe(429);
  });

  it('in the preHandler hook, keys and costs may read the parsed body (login per account)', async () => {
    const { limiter, clock } = limited([{ name: 'account', limit: 2, window: '60s' }]);
    const server = await startFastify({
      hook: 'preHandler',
      clock,
      limits: [
        {
          limiter,
          key: customKey(
            (request) => (request.raw.body as { username?: string } | undefined)?.username,
            {
              prefix: 'account',
            },
          ),
        },
      ],
    });
    onTestFinished(() => server.close());
    const login = (username: string) =>
      get(`${server.url}/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username, password: 'x' }),
      });
    expect((await login('alice')).json.context.checks[0].subject).toBe('account:alice');
    await login('alice');
    expect((await login('alice')).status).toBe(429);
    expect((await login('bob')).status).toBe(200);
  });

  it('takes a pipeline made elsewhere, and refuses pipeline options beside it', async () => {
    const { limiter, clock } = limited([{ name: 'one', limit: 1, window: '60s' }]);
    const pipeline = createHttpPipeline({ limiter, clock });
    const server = await startFastify({ pipeline, prefix: '/ignored' } as never);
    onTestFinished(() => server.close());
    expect((await get(server.url)).status).toBe(200);
    expect((await get(server.url)).status).toBe(429);
    await expect(startFastify({ pipeline, limiter } as never)).rejects.toMatchObject({
      option: 'limiter',
    });
  });
});

describe('Express middleware', () => {
  it('sees the full path under a mount point, and sets req.lockwatch', async () => {
    const { limiter, clock } = limited([{ name: 'one', limit: 1, window: '60s' }]);
    const app = express();
    const api = express.Router();
    api.use(expressLockWatch({ limiter, clock, skip: { paths: ['/api/health'] } }));
    api.get('/{*rest}', (req, res) => {
      res.json({ path: req.lockwatch?.path, skipped: req.lockwatch?.skipped });
    });
    app.use('/api', api);
    const url = await serveNode(app);
    expect((await get(`${url}/api/health`)).json).toEqual({ path: '/api/health', skipped: true });
    expect((await get(`${url}/api/items?x=1`)).json).toEqual({
      path: '/api/items',
      skipped: false,
    });
    expect((await get(`${url}/api/items`)).status).toBe(429);
  });

  it("hands a hook reply Node refuses to Express's error handling, after an await too", async () => {
    const { limiter, clock } = limited([{ name: 'wide', limit: 100, window: '60s' }]);
    const bad: HttpReply = { status: 403, headers: { 'x-reason': 'a\nb' }, body: 'no' };
    const app = express();
    app.use(
      expressLockWatch({
        limiter,
        clock,
        hooks: {
          beforeLimit: (request) => (request.path === '/sync' ? bad : Promise.resolve(bad)),
        },
      }),
    );
    app.use(
      (
        _error: unknown,
        _req: express.Request,
        res: express.Response,
        _next: express.NextFunction,
      ) => {
        res.status(500).end('handled');
      },
    );
    const url = await serveNode(app);
    for (const path of ['/sync', '/async']) {
      const reply = await get(`${url}${path}`);
      expect(reply.status, path).toBe(500);
      expect(reply.text, path).toBe('handled');
    }
  });

  it('reports one response to every LockWatch middleware it went through', async () => {
    const { limiter, clock } = limited([{ name: 'wide', limit: 100, window: '60s' }]);
    const strict = limited([{ name: 'search', limit: 100, window: '60s' }], { clock });
    const finished: string[] = [];
    const app = express();
    app.use(
      expressLockWatch({
        limiter,
        clock,
        hooks: { onFinish: (e) => finished.push(`global ${e.context.path} ${e.statusCode}`) },
      }),
    );
    app.use(
      '/search',
      expressLockWatch({
        limiter: strict.limiter,
        clock,
        hooks: { onFinish: (e) => finished.push(`search ${e.context.path} ${e.statusCode}`) },
      }),
    );
    app.use((_req, res) => {
      res.status(200).end('ok');
    });
    const url = await serveNode(app);
    expect((await get(`${url}/search`)).status).toBe(200);
    expect((await get(`${url}/other`)).status).toBe(200);
    await vi.waitFor(() => expect(finished).toHaveLength(3));
    expect(finished.sort()).toEqual([
      'global /other 200',
      'global /search 200',
      'search /search 200',
    ]);
  });
});

describe('Hono middleware', () => {
  it('runs without a Node server (app.request) with a remoteAddress function and Fetch headers', async () => {
    const { limiter, clock } = limited([{ name: 'one', limit: 1, window: '60s' }]);
    const app = new Hono();
    app.use(honoLockWatch({ limiter, clock, trustProxy: 1 }, { remoteAddress: () => '10.0.0.1' }));
    app.get('*', (c) => c.json({ ip: c.get('lockwatch').ip }));
    const first = await app.request('/', { headers: { 'X-Forwarded-For': '203.0.113.4' } });
    expect(await first.json()).toEqual({ ip: '203.0.113.4' });
    expect(first.headers.get('x-ratelimit-remaining')).toBe('0');
    const second = await app.request('/', { headers: { 'X-Forwarded-For': '203.0.113.4' } });
    expect(second.status).toBe(429);
    expect(await second.json()).toEqual({ error: 'rate_limit_exceeded', retry_after: 60 });
  });

  it('keeps the rate-limit fields on a Response the handler makes itself', async () => {
    const { limiter, clock } = limited([{ name: 'wide', limit: 100, window: '60s' }]);
    const app = new Hono();
    app.use(
      honoLockWatch(
        { limiter, clock, headers: { draft: true } },
        { remoteAddress: () => '10.0.0.1' },
      ),
    );
    app.get('/raw', () => new Response('raw', { status: 201 }));
    app.get('/fetched', () => Response.json({ ok: true }));
    for (const path of ['/raw', '/fetched']) {
      const response = await app.request(path);
      expect(response.headers.get('x-ratelimit-remaining'), path).not.toBeNull();
      expect(response.headers.get('ratelimit-policy'), path).toBe('"wide";q=100;w=60');
    }
    expect((await app.request('/raw')).status).toBe(201);
  });

  it('leaves out a rate-limit field a handler removed on purpose', async () => {
    const { limiter, clock } = limited([{ name: 'wide', limit: 100, window: '60s' }]);
    const app = new Hono();
    app.use(honoLockWatch({ limiter, clock }, { remoteAddress: () => '10.0.0.1' }));
    app.get('/quiet', (c) => {
      c.header('x-ratelimit-limit', undefined);
      return c.text('quiet');
    });
    const response = await app.request('/quiet');
    expect(response.headers.get('x-ratelimit-remaining')).toBe('99');
    expect(response.headers.get('x-ratelimit-limit')).toBeNull();
  });
});

describe('node:http wrapper', () => {
  it('hands listener errors, thrown or rejected, to onError', async () => {
    const { limiter, clock } = limited([{ name: 'wide', limit: 100, window: '60s' }]);
    const errors: string[] = [];
    const url = await serveNode(
      nodeLockWatch(
        { limiter, clock },
        async (req, res) => {
          if (req.url === '/sync') throw new Error('sync');
          await Promise.resolve();
          if (req.url === '/async') throw new Error('async');
          res.end('ok');
        },
        {
          onError: (error, _req, res) => {
            errors.push((error as Error).message);
            res.writeHead(502).end();
          },
        },
      ),
    );
    expect((await get(`${url}/sync`)).status).toBe(502);
    expect((await get(`${url}/async`)).status).toBe(502);
    expect((await get(`${url}/fine`)).text).toBe('ok');
    expect(errors).toEqual(['sync', 'async']);
  });
});

describe('aborted requests', () => {
  /** Sends a request to a handler that never answers, closes the socket, and awaits the finish event. */
  async function abortAgainst(
    start: (onFinish: (event: FinishEvent) => void, entered: () => void) => Promise<string>,
  ) {
    let resolve: (event: FinishEvent) => void = () => {};
    const finished = new Promise<FinishEvent>((r) => (resolve = r));
    let enter: () => void = () => {};
    const inHandler = new Promise<void>((r) => (enter = r));
    const url = await start((event) => resolve(event), enter);
    const { port } = new URL(url);
    const socket = connect({ host: '127.0.0.1', port: Number(port) });
    await once(socket, 'connect');
    socket.write('GET /hang HTTP/1.1\r\nHost: x\r\n\r\n');
    // Once the handler has the request, LockWatch is listening for the end: hang up.
    await inHandler;
    socket.destroy();
    return finished;
  }

  it('finish with aborted: true and 499 on Express, Fastify, node:http and Hono', async () => {
    const { limiter, clock } = limited([{ name: 'wide', limit: 100, window: '60s' }]);
    const servers: { close(): unknown }[] = [];
    onTestFinished(async () => {
      for (const server of servers) await server.close();
    });
    const listen = async (handler: Parameters<typeof createServer>[1]) => {
      const server = createServer(handler).listen(0, '127.0.0.1');
      await once(server, 'listening');
      servers.push({
        close: () => {
          server.closeAllConnections();
          server.close();
        },
      });
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    };
    const viaExpress = await abortAgainst((onFinish, entered) => {
      const app = express();
      app.use(expressLockWatch({ limiter, clock, hooks: { onFinish } }));
      app.get('/hang', () => entered());
      return listen(app);
    });
    const viaNode = await abortAgainst((onFinish, entered) =>
      listen(nodeLockWatch({ limiter, clock, hooks: { onFinish } }, () => entered())),
    );
    const viaFastify = await abortAgainst(async (onFinish, entered) => {
      const server = await startFastify({ limiter, clock, hooks: { onFinish } }, (app) => {
        app.get('/hang', () => {
          entered();
          return new Promise(() => {});
        });
      });
      servers.push(server);
      return server.url;
    });
    const viaHono = await abortAgainst(async (onFinish, entered) => {
      const app = new Hono();
      app.use(honoLockWatch({ limiter, clock, hooks: { onFinish } }));
      app.get('/hang', () => {
        entered();
        return new Promise<Response>(() => {});
      });
      const server = serveHono({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }) as Server;
      if (!server.listening) await once(server, 'listening');
      servers.push({
        close: () => {
          server.closeAllConnections();
          server.close();
        },
      });
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    for (const event of [viaExpress, viaNode, viaFastify, viaHono]) {
      expect(event).toMatchObject({ aborted: true, statusCode: 499 });
      expect(event.context.path).toBe('/hang');
    }
  });

  it('finish with aborted: true and 499 when an HTTP/2 client resets the stream', async () => {
    const { limiter, clock } = limited([{ name: 'wide', limit: 100, window: '60s' }]);
    const resetDuring = async (url: string, entered: Promise<void>) => {
      const session = http2Connect(url);
      onTestFinished(() => session.destroy());
      const stream = session.request({ ':path': '/hang' });
      stream.on('error', () => {});
      await entered;
      stream.close(http2Constants.NGHTTP2_CANCEL);
    };
    const viaNode = new Promise<FinishEvent>((resolve) => {
      let enter: () => void = () => {};
      const entered = new Promise<void>((r) => (enter = r));
      const server = createHttp2Server(
        nodeLockWatch({ limiter, clock, hooks: { onFinish: resolve } }, (_req, res) => {
          enter();
          setTimeout(() => res.end('late'), 100);
        }) as unknown as Parameters<typeof createHttp2Server>[0],
      ).listen(0, '127.0.0.1');
      onTestFinished(() => {
        server.close();
      });
      once(server, 'listening').then(() =>
        resetDuring(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, entered),
      );
    });
    let enterFastify: () => void = () => {};
    const fastifyEntered = new Promise<void>((r) => (enterFastify = r));
    let fastifyEvent: (event: FinishEvent) => void = () => {};
    const viaFastify = new Promise<FinishEvent>((r) => (fastifyEvent = r));
    const fastify = await startFastify(
      { limiter, clock, hooks: { onFinish: (e) => fastifyEvent(e) } },
      (app) => {
        app.get('/hang', async () => {
          enterFastify();
          await new Promise((r) => setTimeout(r, 100));
          return 'late';
        });
      },
      true,
    );
    onTestFinished(() => fastify.close());
    await resetDuring(fastify.url, fastifyEntered);
    for (const event of [await viaNode, await viaFastify]) {
      expect(event).toMatchObject({ aborted: true, statusCode: 499 });
      expect(event.context.path).toBe('/hang');
    }
  });
});

describe('end of response', () => {
  it('reaches the finish hooks once per request, with its status, over one HTTP/1 keep-alive connection', async () => {
    const { limiter, clock } = limited([{ name: 'wide', limit: 100, window: '60s' }]);
    const events: FinishEvent[] = [];
    const url = await serveNode(
      nodeLockWatch({ limiter, clock, hooks: { onFinish: (e) => events.push(e) } }, (req, res) => {
        res.statusCode = req.url === '/teapot' ? 418 : 200;
        res.end('ok');
      }),
    );
    for (const path of ['/a', '/teapot', '/b']) await get(`${url}${path}`);
    await vi.waitFor(() => expect(events).toHaveLength(3));
    expect(events.map((e) => [e.context.path, e.statusCode, e.aborted])).toEqual([
      ['/a', 200, false],
      ['/teapot', 418, false],
      ['/b', 200, false],
    ]);
  });

  it('falls back to listeners on the HTTP/2 compatibility API, which Node does not publish', async () => {
    const { limiter, clock } = limited([{ name: 'wide', limit: 100, window: '60s' }]);
    const events: FinishEvent[] = [];
    const server = createHttp2Server(
      nodeLockWatch({ limiter, clock, hooks: { onFinish: (e) => events.push(e) } }, (_req, res) => {
        res.statusCode = 201;
        res.end('ok');
      }) as unknown as Parameters<typeof createHttp2Server>[0],
    ).listen(0, '127.0.0.1');
    await once(server, 'listening');
    const session = http2Connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    onTestFinished(() => {
      session.close();
      server.close();
    });
    const stream = session.request({ ':path': '/h2' });
    const [headers] = (await once(stream, 'response')) as [Record<string, unknown>];
    stream.resume();
    await once(stream, 'end');
    expect(headers[':status']).toBe(201);
    expect(headers['x-ratelimit-limit']).toBe('100');
    await vi.waitFor(() => expect(events).toHaveLength(1));
    expect(events[0]).toMatchObject({ statusCode: 201, aborted: false });
    expect(events[0]!.context.path).toBe('/h2');
  });
});
