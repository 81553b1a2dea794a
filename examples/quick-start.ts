/**
 * Quick start: a plain node:http server rate-limited per client IP with the
 * in-memory store. Run it with `npm start` (PORT defaults to 3000), then:
 *   for i in $(seq 1 7); do curl -s -o /dev/null -w '%{http_code}\n' localhost:3000/; done
 * The sixth request in a second gets 429 with Retry-After.
 */
import { createServer } from 'node:http';
import { clientIp, createRateLimiter } from '../src/index.ts';

const limiter = createRateLimiter({
  policies: [
    { name: 'per-second', limit: 5, window: '1s' },
    { name: 'per-minute', limit: 100, window: '60s', algorithm: 'sliding-window' },
  ],
  key: clientIp({ trustProxy: false }),
});

const server = createServer(async (req, res) => {
  const decision = await limiter.checkRequest({
    remoteAddress: req.socket.remoteAddress,
    headers: req.headers,
  });
  if (decision !== undefined && !decision.allowed) {
    const retryAfter = Math.ceil(decision.retryAfterMs / 1000);
    res.writeHead(429, { 'content-type': 'application/json', 'retry-after': String(retryAfter) });
    res.end(JSON.stringify({ error: 'rate_limit_exceeded', retry_after: retryAfter }));
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ hello: 'world', remaining: decision?.remaining }));
});

const port = Number(process.env.PORT ?? 3000);
server.listen(port, '127.0.0.1', () => {
  const { port: bound } = server.address() as { port: number };
  console.log(`LockWatch quick start on http://127.0.0.1:${bound}/`);
  console.log(
    `Try: for i in $(seq 1 7); do curl -s -w ' %{http_code}\\n' http://127.0.0.1:${bound}/; done`,
  );
});

const stop = () => {
  server.close(() => void limiter.close());
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
