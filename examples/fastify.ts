/**
 * Fastify 5 with LockWatch: one plugin for the whole app, per-route settings
 * in `config.lockwatch` (a guard, a cost, or `false` to skip limiting).
 * Run: node examples/fastify.ts   (PORT, default 3000)
 */
import Fastify from 'fastify';
import { fastifyLockWatch } from '../src/http/fastify.ts';
import { createLockWatch, generateSigningKey } from '../src/index.ts';

const key = await generateSigningKey(); // production: keys from your secret store
const lw = await createLockWatch({ tokens: { issuer: 'example', audience: 'api', keys: [key] } });

const app = Fastify();
await app.register(fastifyLockWatch, { pipeline: lw.pipeline });
app.get('/hello', async (request) => ({
  hello: 'world',
  remaining: request.lockwatch?.decision?.remaining,
}));
app.get('/me', { config: { lockwatch: { guard: lw.requireJwt() } } }, async (request) => {
  return request.lockwatch?.principal?.claims;
});
app.post('/search', { config: { lockwatch: { cost: 5 } } }, async () => ({ results: [] }));
app.get('/health', { config: { lockwatch: false } }, async () => ({ status: 'ok' }));
app.addHook('onClose', () => lw.close());

const url = await app.listen({ port: Number(process.env.PORT ?? 3000), host: '127.0.0.1' });
console.log(`listening on ${url}`);
process.once('SIGTERM', () => void app.close());
