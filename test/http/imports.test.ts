/**
 * Loading costs: `lockwatch` and the framework-neutral core load no framework
 * or client library, and each adapter module loads none at run time either
 * (they only use the frameworks' types), so `lockwatch/fastify` works with
 * whichever Fastify 5 the app installed.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const src = new URL('../../src/', import.meta.url);
const work = mkdtempSync(join(tmpdir(), 'lockwatch-imports-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const probe = `import { registerHooks } from 'node:module';
const urls = [];
registerHooks({
  resolve(specifier, context, nextResolve) {
    const result = nextResolve(specifier, context);
    urls.push(result.url);
    return result;
  },
});
const loaded = await import(process.argv[2]);
process.stdout.write(JSON.stringify({ urls, exports: Object.keys(loaded).sort() }));
`;
writeFileSync(join(work, 'probe.mjs'), probe);

function load(file: string): Promise<{ urls: string[]; exports: string[] }> {
  const target = new URL(file, src).href;
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [join(work, 'probe.mjs'), target], (error, stdout, stderr) => {
      if (error !== null) reject(new Error(`${error.message}\n${stderr}`));
      else resolve(JSON.parse(stdout));
    });
  });
}

const heavy = /\/node_modules\/(express|fastify|@fastify|hono|@hono|undici|ioredis|@mikro-orm)\//;

describe('module loading', () => {
  it('lockwatch and its HTTP core load no framework or client library', async () => {
    for (const file of ['index.ts', 'http/index.ts']) {
      const { urls, exports } = await load(file);
      expect(
        urls.filter((url) => heavy.test(url)),
        file,
      ).toEqual([]);
      expect(exports, file).toContain('createHttpPipeline');
    }
  });

  it('each adapter loads only its own code', async () => {
    const expected: Record<string, string> = {
      'http/express.ts': 'expressLockWatch',
      'http/fastify.ts': 'fastifyLockWatch',
      'http/hono.ts': 'honoLockWatch',
      'http/node.ts': 'nodeLockWatch',
    };
    for (const [file, name] of Object.entries(expected)) {
      const { urls, exports } = await load(file);
      expect(
        urls.filter((url) => heavy.test(url)),
        file,
      ).toEqual([]);
      expect(
        urls.filter(
          (url) => url.startsWith('file:') && !url.startsWith(pathToFileURL(src.pathname).href),
        ),
        file,
      ).toEqual([]);
      expect(exports, file).toEqual([name]);
    }
  });
});
