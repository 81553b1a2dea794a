import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));

/** Imports `entry` in a fresh Node process and lists the bare specifiers it resolved. */
function bareImports(entry: string, then = ''): string[] {
  const script = `
    import { registerHooks } from 'node:module';
    const seen = new Set();
    registerHooks({ resolve(specifier, context, next) {
      if (!/^(node:|\\.|\\/|file:)/.test(specifier)) seen.add(specifier);
      return next(specifier, context);
    } });
    const module = await import(${JSON.stringify(`${root}${entry}`)});
    ${then}
    console.log(JSON.stringify([...seen]));
  `;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: root,
    encoding: 'utf8',
  });
  expect(result.stderr).toBe('');
  return JSON.parse(result.stdout.trim().split('\n').at(-1)!) as string[];
}

describe('loading', () => {
  it('lockwatch (core) does not load undici', () => {
    expect(bareImports('src/index.ts')).not.toContain('undici');
  });

  it('lockwatch/webhook loads undici only when a sink is created, so receivers can verify without it', () => {
    expect(bareImports('src/adapters/webhook/index.ts')).not.toContain('undici');
    const create = `
      const sink = module.createWebhookAlertSink({ endpoints: [{ url: 'http://127.0.0.1:9/', secret: module.generateWebhookSecret() }] });
      await sink.close();
      await new Promise((resolve) => setTimeout(resolve, 50));`;
    expect(bareImports('src/adapters/webhook/index.ts', create)).toContain('undici');
  });
});
