import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';

let child: ChildProcess | undefined;

afterEach(() => {
  child?.kill('SIGTERM');
  child = undefined;
});

describe('examples/quick-start.ts (npm start)', () => {
  it('serves, limits the sixth request in a second with a 429 and exits on SIGTERM', async () => {
    child = spawn(process.execPath, ['examples/quick-start.ts'], {
      env: { ...process.env, PORT: '0' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    const url = await new Promise<string>((resolve, reject) => {
      child!.stdout!.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const match = /on (http:\/\/127\.0\.0\.1:\d+\/)/.exec(output);
        if (match) resolve(match[1]!);
      });
      child!.once('exit', (code) => reject(new Error(`exited early with ${code}: ${output}`)));
    });
    const statuses: number[] = [];
    let limited: Response | undefined;
    // A burst of 5 per second: among 12 quick requests some must be refused
    // (one more slot opens every 200 ms, so a slow machine may admit a sixth).
    for (let i = 0; i < 12; i++) {
      const response = await fetch(url);
      statuses.push(response.status);
      if (response.status === 429) limited ??= response;
      else await response.arrayBuffer();
    }
    expect(statuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
    expect(limited).toBeDefined();
    expect(limited!.headers.get('retry-after')).toMatch(/^[1-9]\d*$/);
    expect(await limited!.json()).toMatchObject({ error: 'rate_limit_exceeded' });
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const [code, signal] = await exited;
    expect(code === 0 || signal === 'SIGTERM').toBe(true);
    child = undefined;
  });
});
