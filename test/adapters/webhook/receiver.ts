import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * What a test receiver does with one request: answer a status, hang (never
 * answer), close the connection, or send 200 and a body it never finishes.
 */
export type Behaviour =
  | { readonly status: number; readonly headers?: Record<string, string> }
  | 'hang'
  | 'close'
  | 'endless-200';

/** One request a receiver saw. */
export interface Received {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  readonly at: number;
}

/** A real HTTP receiver on 127.0.0.1, started by the test. */
export interface Receiver {
  readonly url: string;
  readonly requests: Received[];
  /** Resolves once `count` requests (answered or not) have arrived. */
  until(count: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts a receiver; `behave(n, path)` decides what to do with the n-th
 * request (from 0).
 */
export async function startReceiver(
  behave: (n: number, path: string) => Behaviour = () => ({ status: 204 }),
): Promise<Receiver> {
  const requests: Received[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const n = requests.length;
      requests.push({
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        at: performance.now(),
      });
      for (const waiter of [...waiters]) {
        if (requests.length >= waiter.count) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve();
        }
      }
      const behaviour = behave(n, req.url ?? '');
      if (behaviour === 'hang') return;
      if (behaviour === 'endless-200') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('accepted, still talking');
        return;
      }
      if (behaviour === 'close') {
        req.socket.destroy();
        return;
      }
      res.writeHead(behaviour.status, behaviour.headers ?? {});
      res.end();
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/lockwatch`,
    requests,
    until(count) {
      if (requests.length >= count) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ count, resolve }));
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
