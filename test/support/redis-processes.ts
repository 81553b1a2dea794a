import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';

// Starts and inspects redis-server processes. No vitest import: the global setup uses it too.

const run = promisify(execFile);

/** A host and port of one Redis node. */
export interface RedisNode {
  /** Host name or address. */
  readonly host: string;
  /** TCP port. */
  readonly port: number;
}

/** A random key prefix, so tests sharing a server never see each other's keys. */
export function testPrefix(label = 't'): string {
  return `lwtest:${label}:${process.pid}:${Math.random().toString(36).slice(2, 10)}`;
}

/** True when a `redis-server` binary is on the PATH. */
export function hasRedisServerBinary(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** A port on 127.0.0.1 free right now (and, with `bus`, free at port + 10000 too). */
export async function freePort(bus = false): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await listenOnce(0);
    if (!bus) return port;
    if (port + 10_000 > 65_535) continue;
    try {
      await listenOnce(port + 10_000);
      return port;
    } catch {
      // Bus port taken: try another.
    }
  }
  throw new Error('no free port pair found');
}

function listenOnce(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : port));
    });
  });
}

/** Runs one command on a node over a short-lived connection. */
export async function nodeCommand(node: RedisNode, ...args: (string | number)[]): Promise<unknown> {
  const client = new Redis({
    host: node.host,
    port: node.port,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 1000,
    enableOfflineQueue: true,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    return await client.call(String(args[0]), ...args.slice(1).map(String));
  } finally {
    client.disconnect();
  }
}

/** Polls `probe` every 50 ms until it returns true or `timeoutMs` passes. */
export async function waitFor(
  what: string,
  probe: () => Promise<boolean>,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      if (await probe()) return;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

/** A redis-server process this test run started; it can be stopped and started again on its port. */
export interface RedisProcess extends RedisNode {
  /** `redis://127.0.0.1:<port>`. */
  readonly url: string;
  /** True while the process runs. */
  readonly running: boolean;
  /** Kills the process (SIGKILL: a crash, no shutdown save) and waits for it to exit. */
  stop(): Promise<void>;
  /** Starts it again on the same port and directory; resolves when it answers PING. */
  start(): Promise<void>;
}

/** Starts a redis-server on a free port (or `port`) in `dir`, with nothing saved to disk. */
export async function startRedisProcess(options: {
  dir: string;
  port?: number;
  args?: readonly string[];
}): Promise<RedisProcess> {
  const port = options.port ?? (await freePort());
  const node = { host: '127.0.0.1', port };
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
    '--dir',
    options.dir,
    '--logfile',
    join(options.dir, `redis-${port}.log`),
    ...(options.args ?? []),
  ];
  const handle: RedisProcess = {
    ...node,
    url: `redis://127.0.0.1:${port}`,
    get running() {
      return child !== undefined && child.exitCode === null && child.signalCode === null;
    },
    async start() {
      if (handle.running) return;
      const started = spawn('redis-server', args, { stdio: 'ignore' });
      child = started;
      exited = new Promise((resolve) => started.once('exit', () => resolve()));
      await waitFor(`redis-server on port ${port}`, async () => {
        if (started.exitCode !== null)
          throw new Error(`redis-server exited with ${started.exitCode}`);
        return (await nodeCommand(node, 'PING')) === 'PONG';
      });
    },
    async stop() {
      if (child === undefined) return;
      if (handle.running) child.kill('SIGKILL');
      await exited;
    },
  };
  await handle.start();
  return handle;
}

/** A Redis Cluster of redis-server processes started by this test run. */
export interface RedisClusterProcesses {
  /** Every node, masters first as created. */
  readonly processes: readonly RedisProcess[];
  /** Seed nodes for a client. */
  readonly nodes: readonly RedisNode[];
  /** Stops every node and removes the temporary directory. */
  stop(): Promise<void>;
}

/**
 * Starts a Cluster of `masters` masters with `replicas` replicas each on free
 * ports in a temporary directory and waits until every node reports
 * `cluster_state:ok`, knows every node and every replica is in sync.
 */
export async function startRedisCluster(
  options: { masters?: number; replicas?: number; nodeTimeoutMs?: number } = {},
): Promise<RedisClusterProcesses> {
  const masters = options.masters ?? 3;
  const replicas = options.replicas ?? 1;
  const count = masters * (1 + replicas);
  const dir = await mkdtemp(join(tmpdir(), 'lockwatch-cluster-'));
  const processes: RedisProcess[] = [];
  const stop = async () => {
    await Promise.all(processes.map((p) => p.stop()));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const ports: number[] = [];
    while (ports.length < count) {
      const port = await freePort(true);
      if (!ports.includes(port)) ports.push(port);
    }
    const started = await Promise.allSettled(
      ports.map((port) =>
        startRedisProcess({
          dir,
          port,
          args: [
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            `nodes-${port}.conf`,
            '--cluster-node-timeout',
            String(options.nodeTimeoutMs ?? 2000),
            '--cluster-require-full-coverage',
            'no',
            // Replicas sync at once instead of after the default 5 s delay.
            '--repl-diskless-sync-delay',
            '0',
          ],
        }),
      ),
    );
    for (const result of started) {
      if (result.status === 'fulfilled') processes.push(result.value);
    }
    const failed = started.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
    await run(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...processes.map((p) => `127.0.0.1:${p.port}`),
        '--cluster-replicas',
        String(replicas),
        '--cluster-yes',
      ],
      { timeout: 60_000 },
    );
    await waitForClusterHealthy(processes, count, masters * replicas);
  } catch (error) {
    await stop();
    throw error;
  }
  return { processes, nodes: processes.map(({ host, port }) => ({ host, port })), stop };
}

/** Waits until every running node says the cluster is ok, knows `count` nodes and sees `replicaCount` synced replicas. */
export async function waitForClusterHealthy(
  processes: readonly RedisProcess[],
  count: number,
  replicaCount: number,
  timeoutMs = 15_000,
): Promise<void> {
  const live = processes.filter((p) => p.running);
  let state = 'not asked yet';
  try {
    await waitFor(
      'a healthy Redis Cluster',
      async () => {
        let synced = 0;
        for (const node of live) {
          const info = String(await nodeCommand(node, 'CLUSTER', 'INFO'));
          if (
            !info.includes('cluster_state:ok') ||
            !info.includes(`cluster_known_nodes:${count}`)
          ) {
            state = `node ${node.port}: ${info.split('\r\n').slice(0, 7).join(', ')}`;
            return false;
          }
          const replication = String(await nodeCommand(node, 'INFO', 'replication'));
          if (replication.includes('role:slave')) {
            if (!replication.includes('master_link_status:up')) {
              state = `replica ${node.port} not in sync`;
              return false;
            }
            synced++;
          }
        }
        state = `${synced} of ${replicaCount} replicas in sync`;
        return synced >= replicaCount;
      },
      timeoutMs,
    );
  } catch (error) {
    throw new Error(`${(error as Error).message} (last seen: ${state})`);
  }
}

/** Number of times `command` ran on a node since start (INFO commandstats), by lower-case name. */
export async function commandCounts(node: RedisNode): Promise<Map<string, number>> {
  const info = String(await nodeCommand(node, 'INFO', 'commandstats'));
  const counts = new Map<string, number>();
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    counts.set(match[1]!, Number(match[2]));
  }
  return counts;
}

/** A temporary directory for processes a test starts. */
export function tempDir(label: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `lockwatch-${label}-`));
}
