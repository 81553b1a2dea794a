/**
 * The same requests give the same statuses, LockWatch headers and bodies on
 * every adapter: one scripted session, recorded per adapter, compared whole.
 */
import { describe, expect, it } from 'vitest';
import { clientIp } from '../../src/domain/ratelimit/keys.ts';
import { limited, lockwatchHeaders } from '../contracts/http/fixtures.ts';
import { serve } from '../contracts/http/harness.ts';
import { adapters } from './servers.ts';

const script: readonly {
  path: string;
  method?: string;
  headers?: Record<string, string>;
  advance?: number;
}[] = [
  { path: '/' },
  { path: '/search?q=a', method: 'POST' },
  { path: '/health' },
  { path: '/', headers: { 'x-forwarded-for': '203.0.113.1' } },
  { path: '/' },
  { path: '/', advance: 1_500 },
  { path: '/batch', headers: { 'x-units': '9' } },
  { path: '/search', method: 'POST' },
  { path: '/', headers: { 'x-forwarded-for': '6.6.6.6, 203.0.113.2' } },
  { path: '/', advance: 30_000 },
  { path: '/throw' },
  { path: '/public/file', method: 'HEAD' },
  { path: '/', method: 'OPTIONS' },
];

async function record(name: string) {
  const { limiter, clock } = limited([
    { name: 'short', limit: 3, window: '10s' },
    { name: 'long', limit: 6, window: '60s', algorithm: 'sliding-window' },
  ]);
  const client = await serve(adapters[name]!, {
    limiter,
    clock,
    key: clientIp({ trustProxy: ['127.0.0.1/32'] }),
    trustProxy: ['127.0.0.1/32'],
    cost: (request) => Number(request.headers['x-units'] ?? 1),
    skip: { paths: ['/health'], methods: ['OPTIONS'] },
    routes: [{ path: '/search', methods: ['POST'], cost: 2 }],
  });
  const transcript = [];
  for (const [index, step] of script.entries()) {
    clock.advance(step.advance ?? 0);
    const reply = await client.send(step.path, {
      method: step.method,
      headers: { 'x-request-id': `step-${index}`, ...step.headers },
    });
    transcript.push({
      step: index,
      status: reply.status,
      headers: lockwatchHeaders(reply),
      body: reply.text,
    });
  }
  return transcript;
}

describe('one session, four adapters', () => {
  it('gives identical statuses, LockWatch headers and bodies on Express, Fastify, Hono and node:http', async () => {
    const [express, ...others] = await Promise.all(Object.keys(adapters).map(record));
    expect(express!.map((entry) => entry.status)).toEqual([
      200, 200, 200, 200, 429, 429, 413, 429, 200, 200, 500, 200, 200,
    ]);
    // The app's own 200s and 500s differ in content type by framework (Fastify adds a
    // charset); LockWatch's replies do not.
    const normalize = (transcript: Awaited<ReturnType<typeof record>>) =>
      transcript.map((entry) =>
        entry.status === 200 || entry.status === 500
          ? { ...entry, headers: { ...entry.headers, 'content-type': 'application/json' } }
          : entry,
      );
    for (const [index, transcript] of others.entries()) {
      expect(normalize(transcript), Object.keys(adapters)[index + 1]).toEqual(normalize(express!));
    }
  });
});
