/**
 * Harness of the HTTP conformance suite: a factory per adapter starts a real
 * server on 127.0.0.1:0 around the pipeline options it is given, and the
 * suite talks to it over real sockets with an undici client.
 *
 * Every adapter's app answers every method and path with
 * `200 {"path", "context"}`, where `context` is {@link summarize} of the
 * request context as the handler sees it (`req.lockwatch`,
 * `request.lockwatch`, `c.get('lockwatch')`, the listener's third argument),
 * and turns a handler error into `500 {"error":"internal_error"}`.
 */
import { connect } from 'node:net';
import { Agent, request } from 'undici';
import { onTestFinished } from 'vitest';
import type { HttpOptions, LockWatchContext } from '../../../src/http/index.ts';

/** How the suite's client talks to a server: HTTP/1.1, or HTTP/2 without TLS (prior knowledge). */
export type Protocol = 'http/1.1' | 'h2c';

/** A running server. */
export interface TestServer {
  /** Base URL, such as `http://127.0.0.1:40123`. */
  readonly url: string;
  /** The protocol it speaks; HTTP/1.1 when absent. */
  readonly protocol?: Protocol | undefined;
  /** Stops the server and drops its connections. */
  close(): Promise<void>;
}

/** Starts an adapter's app with LockWatch configured by `options`. */
// biome-ignore lint/suspicious/noExplicitAny: each adapter has its own native request type
export type AdapterFactory = (options: HttpOptions<any>) => Promise<TestServer>;

/** What a handler reports of its request context. */
export interface ContextSummary {
  readonly ip: string | null;
  readonly skipped: boolean;
  readonly rateLimited: boolean;
  readonly requestId: string;
  readonly remaining: number | null;
  readonly degraded: boolean | null;
  readonly checks: readonly {
    limit: string;
    subject: string;
    cost: number | null;
    allowed: boolean;
  }[];
  readonly anomalies: readonly string[];
  readonly userId: string | null;
}

/** The handler's view of the context, as JSON; null when the handler saw none. */
export function summarize(context: LockWatchContext | null | undefined): ContextSummary | null {
  if (context === null || context === undefined) return null;
  return {
    ip: context.ip ?? null,
    skipped: context.skipped,
    rateLimited: context.rateLimited,
    requestId: context.requestId,
    remaining: context.decision?.remaining ?? null,
    degraded: context.decision?.degraded ?? null,
    checks: context.checks.map((check) => ({
      limit: check.limit,
      subject: check.subject,
      cost: check.cost ?? null,
      allowed: check.decision.allowed,
    })),
    anomalies: context.anomalies,
    userId: context.principal?.userId ?? null,
  };
}

/** The body every app's handler answers with. */
export function handlerBody(path: string, context: LockWatchContext | null | undefined): string {
  return JSON.stringify({ path, context: summarize(context) });
}

/** One response, read whole. */
export interface Reply {
  readonly status: number;
  /** Header names lower case; repeated headers joined with `, `. */
  readonly headers: Readonly<Record<string, string>>;
  readonly text: string;
  // biome-ignore lint/suspicious/noExplicitAny: test bodies are inspected field by field
  readonly json: any;
}

/** Options of one request. */
export interface Send {
  readonly method?: string;
  readonly headers?: Record<string, string | string[]>;
  readonly body?: string;
}

/** An HTTP client bound to one server. */
export interface Client {
  send(path: string, init?: Send): Promise<Reply>;
  readonly server: TestServer;
}

/** Starts a server with `options`; closes it (and its client) when the test ends. */
export async function serve(
  factory: AdapterFactory,
  // biome-ignore lint/suspicious/noExplicitAny: see AdapterFactory
  options: HttpOptions<any>,
  connections = 8,
): Promise<Client> {
  const server = await factory(options);
  const agent =
    server.protocol === 'h2c'
      ? new Agent({
          connections,
          allowH2: true,
          h2Options: { useH2c: true },
          // undici 8's pool still reads the older top-level option when it builds its connector.
          ...({ useH2c: true } as object),
        })
      : new Agent({ connections, pipelining: 1 });
  onTestFinished(async () => {
    await agent.close();
    await server.close();
  });
  return {
    server,
    async send(path, init = {}) {
      const response = await request(server.url + path, {
        dispatcher: agent,
        method: (init.method ?? 'GET') as 'GET',
        headers: init.headers,
        body: init.body,
      });
      const text = await response.body.text();
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(response.headers)) {
        if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
      }
      let json: unknown;
      try {
        json = text === '' ? undefined : JSON.parse(text);
      } catch {
        json = undefined;
      }
      return { status: response.statusCode, headers, text, json };
    },
  };
}

/**
 * Writes raw bytes to the server and returns what it answers until it closes
 * the connection or `Connection: close` completes the reply (for requests no
 * well-behaved client would send).
 */
export function rawRequest(url: string, bytes: string | Buffer): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(Buffer.concat(chunks).toString('latin1'));
    }, 5_000);
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', (error) => {
      clearTimeout(timer);
      if (chunks.length > 0) resolve(Buffer.concat(chunks).toString('latin1'));
      else reject(error);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('latin1'));
    });
    socket.write(bytes);
  });
}

/** The status code of a raw HTTP/1.1 response; 0 when there was none. */
export function rawStatus(response: string): number {
  const match = /^HTTP\/1\.[01] (\d{3})/.exec(response);
  return match === null ? 0 : Number(match[1]);
}

/** Runs `count` tasks with at most `width` in flight. */
export async function inParallel(
  count: number,
  width: number,
  task: (index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(width, count) }, worker));
}
