/**
 * Hono 4 (on @hono/node-server) with LockWatch: `c.get('lockwatch')` in handlers.
 * Run: node examples/hono.ts   (PORT, default 3000)
 */
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { honoLockWatch } from '../src/http/hono.ts';
import { createHttpPipeline, createLockWatch, generateSigningKey } from '../src/index.ts';

const key = await generateSigningKey(); // production: keys from your secret store
const lw = await createLockWatch({ tokens: { issuer: 'example', audience: 'api', keys: [key] } });

const app = new Hono();
app.use(
  honoLockWatch(
    createHttpPipeline({ ...lw.httpOptions, routes: [{ path: '/me', guard: lw.requireJwt() }] }),
  ),
);
app.get('/hello', (c) =>
  c.json({ hello: 'world', remaining: c.get('lockwatch').decision?.remaining }),
);
app.get('/me', (c) => c.json(c.get('lockwatch').principal?.claims ?? null));

const server = serve(
  { fetch: app.fetch, port: Number(process.env.PORT ?? 3000), hostname: '127.0.0.1' },
  (info: AddressInfo) => console.log(`listening on http://127.0.0.1:${info.port}`),
);
process.once('SIGTERM', () => server.close(() => void lw.close()));
