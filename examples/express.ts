/**
 * Express 5 with LockWatch: the seed's 100 requests per 60 s per client IP,
 * the burst detector, the audit log (memory) and a JWT-protected route.
 * Run: node examples/express.ts   (PORT, default 3000)
 */
import express from 'express';
import { expressLockWatch } from '../src/http/express.ts';
import { createHttpPipeline, createLockWatch, generateSigningKey } from '../src/index.ts';

const key = await generateSigningKey(); // production: keys from your secret store
const lw = await createLockWatch({ tokens: { issuer: 'example', audience: 'api', keys: [key] } });

const app = express();
app.use(
  expressLockWatch(
    createHttpPipeline({ ...lw.httpOptions, routes: [{ path: '/me', guard: lw.requireJwt() }] }),
  ),
);
app.get('/hello', (req, res) => {
  res.json({ hello: 'world', remaining: req.lockwatch?.decision?.remaining });
});
app.get('/me', (req, res) => {
  res.json(req.lockwatch?.principal?.claims);
});

const server = app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${(server.address() as { port: number }).port}`);
});
process.once('SIGTERM', () => server.close(() => void lw.close()));
