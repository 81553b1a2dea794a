import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The compiled package finds its migrations: build src with the package's
 * build config into a temporary folder (never this repository's dist/), then
 * run the compiled `lockwatch` bin there. The migrations are imported by the
 * compiled index, so no folder scan (and no TypeScript) is involved.
 */

const run = promisify(execFile);
const repo = fileURLToPath(new URL('../../..', import.meta.url));
let dir = '';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lockwatch-dist-'));
  // tsc emits even when some other file has a type error (its exit code then says 2); what this
  // test needs is the emitted SQL adapter, checked below, so a type error elsewhere is reported, not fatal.
  const built = await run(
    process.execPath,
    [
      join(repo, 'node_modules/typescript/bin/tsc'),
      '-p',
      join(repo, 'tsconfig.build.json'),
      '--outDir',
      join(dir, 'dist'),
    ],
    { cwd: repo },
  ).catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? String(error) }));
  if (!existsSync(join(dir, 'dist/adapters/sql/cli/main.js'))) {
    throw new Error(`the build emitted no SQL adapter:\n${built.stdout}`);
  }
  writeFileSync(join(dir, 'package.json'), '{"type":"module"}\n');
  symlinkSync(join(repo, 'node_modules'), join(dir, 'node_modules'), 'dir');
}, 120_000);

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('compiled package', () => {
  it('the bin starts with a shebang and runs migrations from dist', async () => {
    const bin = join(dir, 'dist/adapters/sql/cli/main.js');
    expect(readFileSync(bin, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
    const url = `sqlite:${join(dir, 'from-dist.db')}`;
    const up = await run(process.execPath, [bin, 'migrate', 'up', '--url', url], { cwd: dir });
    expect(up.stdout).toMatch(/^applied Migration\d+_init\n(?:applied Migration\d+_\w+\n)*$/);
    const status = await run(process.execPath, [bin, 'migrate', 'status', '--url', url], {
      cwd: dir,
    });
    expect(status.stdout).toMatch(
      /applied {2}Migration\d+_init\n(?: {2}applied {2}Migration\d+_\w+\n)*up to date/,
    );
    const query = await run(
      process.execPath,
      [bin, 'audit', 'query', '--url', url, '--format', 'json'],
      { cwd: dir },
    );
    expect(JSON.parse(query.stdout)).toEqual({ records: [] });
  }, 60_000);
});
