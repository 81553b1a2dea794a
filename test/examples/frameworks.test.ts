/**
 * The minimal app of each framework in examples/: starts, answers /hello
 * with the rate-limit fields, refuses /me without a token (401 with
 * WWW-Authenticate), and exits on SIGTERM.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

describe.each(['express', 'fastify', 'hono', 'node'])('examples/%s.ts', (name) => {
  it('serves a limited route and a guarded one, and stops on SIGTERM', {
    timeout: 30_000,
  }, async () => {
    const file = fileURLToPath(new URL(`../../examples/${name}.ts`, import.meta.url));
    const child = spawn(process.execPath, [file], {
      env: { ...process.env, PORT: '0' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      let output = '';
      const base = await new Promise<string>((resolve, reject) => {
        child.stdout!.on('data', (chunk: Buffer) => {
          output += chunk.toString();
          const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
          if (match) resolve(match[1]!);
        });
        child.once('exit', (code) => reject(new Error(`exited with ${code}: ${output}`)));
      });
      const hello = await fetch(`${base}/hello`);
      expect(hello.status).toBe(200);
      expect(hello.headers.get('x-ratelimit-limit')).toBe('100');
      expect(await hello.json()).toMatchObject({ hello: 'world', remaining: 99 });
      const me = await fetch(`${base}/me`);
      expect(me.status).toBe(401);
      expect(me.headers.get('www-authenticate')).toBe('Bearer realm="api"');
      await me.arrayBuffer();
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const [code, signal] = await exited;
      expect(code === 0 || signal === 'SIGTERM').toBe(true);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
