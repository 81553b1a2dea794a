/**
 * Plain node:http with LockWatch: the listener gets the request's context as
 * its third argument.
 * Run: node examples/node.ts   (PORT, default 3000)
 */
import { createServer } from 'node:http';
import { nodeLockWatch } from '../src/http/node.ts';
import { createHttpPipeline, createLockWatch, generateSigningKey } from '../src/index.ts';

const key = await generateSigningKey(); // production: keys from your secret store
const lw = await createLockWatch({ tokens: { issuer: 'example', audience: 'api', keys: [key] } });
const pipeline = createHttpPipeline({
  ...lw.httpOptions,
  routes: [{ path: '/me', guard: lw.requireJwt() }],
});

const server = createServer(
  nodeLockWatch(pipeline, (_req, res, context) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify(
        context.path === '/me'
          ? context.principal?.claims
          : { hello: 'world', remaining: context.decision?.remaining },
      ),
    );
  }),
);
server.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${(server.address() as { port: number }).port}`);
});
process.once('SIGTERM', () => server.close(() => void lw.close()));
