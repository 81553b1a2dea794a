/** One factory per framework adapter, for the HTTP conformance suite and the adapter tests. */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttp2Server, type Http2Server, type Http2Session } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer, serve as serveHono } from '@hono/node-server';
import express from 'express';
import Fastify, { type FastifyInstance } from 'fastify';
import { Hono } from 'hono';
import { expressLockWatch } from '../../src/http/express.ts';
import { type FastifyLockWatchOptions, fastifyLockWatch } from '../../src/http/fastify.ts';
import { type HonoLockWatchOptions, honoLockWatch } from '../../src/http/hono.ts';
import type { HttpOptions } from '../../src/http/index.ts';
import { nodeLockWatch } from '../../src/http/node.ts';
import { pathOf } from '../../src/http/request.ts';
import { type AdapterFactory, handlerBody, type TestServer } from '../contracts/http/harness.ts';

const json = { 'content-type': 'application/json' };
const internalError = '{"error":"internal_error"}';

async function listen(server: Server): Promise<TestServer> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Listens on a free loopback port with HTTP/2 without TLS; close() ends open sessions. */
async function listenHttp2(server: Http2Server): Promise<TestServer> {
  const sessions = new Set<Http2Session>();
  server.on('session', (session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    protocol: 'h2c',
    close: () =>
      new Promise<void>((resolve) => {
        for (const session of sessions) session.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Express 5 with `expressLockWatch` in front of a catch-all handler. */
export const expressFactory: AdapterFactory = async (options) => {
  const app = express();
  app.use(expressLockWatch(options));
  app.use((req, res) => {
    if (req.path === '/throw') throw new Error('handler failed');
    res.writeHead(200, json).end(handlerBody(req.path, req.lockwatch));
  });
  app.use(
    (
      _error: unknown,
      _req: express.Request,
      res: express.Response,
      _next: express.NextFunction,
    ) => {
      res.writeHead(500, json).end(internalError);
    },
  );
  return listen(createServer(app));
};

/** Starts a Fastify app with the plugin registered, then `routes` added (HTTP/2 with `h2c`). */
export async function startFastify(
  options: FastifyLockWatchOptions,
  routes: (app: FastifyInstance) => void = () => {},
  h2c = false,
): Promise<TestServer & { app: FastifyInstance }> {
  // Fastify's types follow its `http2` option; one app type serves both here.
  const app = (h2c ? Fastify({ http2: true }) : Fastify()) as unknown as FastifyInstance;
  await app.register(fastifyLockWatch, options);
  app.setErrorHandler((_error, _request, reply) => {
    reply.code(500).header('content-type', 'application/json').send(internalError);
  });
  routes(app);
  const handler = async (
    request: import('fastify').FastifyRequest,
    reply: import('fastify').FastifyReply,
  ) => {
    const path = pathOf(request.url);
    if (path === '/throw') throw new Error('handler failed');
    reply.header('content-type', 'application/json');
    return handlerBody(path, request.lockwatch);
  };
  app.all('/', handler);
  app.all('/*', handler);
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, url, protocol: h2c ? 'h2c' : 'http/1.1', close: () => app.close() };
}

/** Fastify 5 with the plugin and catch-all routes. */
export const fastifyFactory: AdapterFactory = (options) => startFastify(options);

/** The same Fastify app with `http2: true` (HTTP/2 without TLS). */
export const fastifyHttp2Factory: AdapterFactory = (options) =>
  startFastify(options, () => {}, true);

/** Starts a Hono app on @hono/node-server with the middleware. */
export async function startHono(
  options: HttpOptions,
  middleware: HonoLockWatchOptions = {},
  h2c = false,
): Promise<TestServer> {
  const app = new Hono();
  app.use(honoLockWatch(options, middleware));
  app.all('*', (c) => {
    if (c.req.path === '/throw') throw new Error('handler failed');
    return c.body(handlerBody(c.req.path, c.get('lockwatch')), 200, json);
  });
  app.onError((_error, c) => c.body(internalError, 500, json));
  if (h2c) {
    return listenHttp2(
      createAdaptorServer({ fetch: app.fetch, createServer: createHttp2Server }) as Http2Server,
    );
  }
  const server = serveHono({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }) as Server;
  if (!server.listening) await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Hono 4 on @hono/node-server with the middleware and a catch-all route. */
export const honoFactory: AdapterFactory = (options) => startHono(options);

/** The same Hono app on an `http2.createServer` (HTTP/2 without TLS). */
export const honoHttp2Factory: AdapterFactory = (options) => startHono(options, {}, true);

/** A plain node:http server with `nodeLockWatch` around its listener. */
export const nodeFactory: AdapterFactory = (options) => listen(createServer(nodeListener(options)));

/** The same listener on `http2.createServer`, through Node's HTTP/2 compatibility API. */
export const nodeHttp2Factory: AdapterFactory = (options) =>
  listenHttp2(
    createHttp2Server(
      nodeListener(options) as unknown as Parameters<typeof createHttp2Server>[0] & object,
    ),
  );

function nodeListener(options: HttpOptions): (req: IncomingMessage, res: ServerResponse) => void {
  return nodeLockWatch(
    options,
    (req, res, context) => {
      const path = pathOf(req.url);
      if (path === '/throw') throw new Error('handler failed');
      res.writeHead(200, json).end(handlerBody(path, context));
    },
    { onError: (_error, _req, res) => res.writeHead(500, json).end(internalError) },
  );
}

/** Every adapter, by name. */
export const adapters: Readonly<Record<string, AdapterFactory>> = {
  express: expressFactory,
  fastify: fastifyFactory,
  hono: honoFactory,
  node: nodeFactory,
};
