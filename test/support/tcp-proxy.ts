import { createConnection, createServer, type Server, type Socket } from 'node:net';

/**
 * `pass`: forward bytes; `cut`: drop every connection and refuse new ones;
 * `hang`: drop every connection, then accept and forward nothing; `stall`:
 * keep the connections open but forward nothing either way (a server or
 * network that stopped answering mid-conversation).
 */
export type ProxyMode = 'pass' | 'cut' | 'hang' | 'stall';

/** A TCP proxy on 127.0.0.1 in front of a server, that a test can cut or make hang. */
export interface TcpProxy {
  /** The port it listens on. */
  readonly port: number;
  /** Current mode; setting `cut` destroys the connections open now. */
  mode: ProxyMode;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Stops listening and drops everything. */
  close(): Promise<void>;
}

/** Starts a proxy to `target` on a free loopback port. */
export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const pairs = new Set<[Socket, Socket]>();
  const parked = new Set<Socket>();
  let mode: ProxyMode = 'pass';
  let accepted = 0;
  const server: Server = createServer((client) => {
    accepted++;
    client.on('error', () => {});
    if (mode === 'cut') {
      client.destroy();
      return;
    }
    if (mode === 'hang') {
      parked.add(client);
      client.on('close', () => parked.delete(client));
      return;
    }
    const upstream = createConnection(target);
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    const forget = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', forget);
    upstream.on('close', forget);
    client.on('data', (chunk) => {
      if (mode === 'pass') upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      if (mode === 'pass') client.write(chunk);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy has no port');
  const dropAll = () => {
    for (const [a, b] of [...pairs]) {
      a.destroy();
      b.destroy();
    }
    for (const s of [...parked]) s.destroy();
  };
  return {
    port: address.port,
    get accepted() {
      return accepted;
    },
    get mode() {
      return mode;
    },
    set mode(next: ProxyMode) {
      mode = next;
      if (next === 'cut' || next === 'hang') dropAll();
    },
    async close() {
      dropAll();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
