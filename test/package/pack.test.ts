/**
 * The package as a user gets it: build and `npm pack` a copy of this
 * repository, install the tarball (with ioredis, from the npm registry, at
 * the version this repository tests against) in a fresh project, and check
 * what loading it costs, that its types work for a NodeNext consumer, and
 * that publint and attw accept the tarball.
 *
 * The build runs in a staged copy in a temporary directory, never in this
 * repository's dist/, so a concurrent test run or build cannot race with it.
 */
import { type ExecFileException, execFile } from 'node:child_process';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const bin = (name: string) => join(repo, 'node_modules', '.bin', name);
const manifest = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as {
  exports: Record<string, string | { types: string; default: string }>;
  bin?: Record<string, string>;
  devDependencies: Record<string, string>;
};

// Packages `import 'lockwatch'` must never load (DESIGN.md section 1): as a
// bare specifier asked for, or as a file under node_modules resolved.
const forbidden = ['ioredis', '@mikro-orm', 'undici', 'express', 'fastify', '@fastify', 'hono'];
const forbiddenSpecifier = new RegExp(`^(${forbidden.join('|')})(/|$)`);
const forbiddenUrl = new RegExp(`/node_modules/(${forbidden.join('|')})/`);

// Not copied into the staged build: installs, outputs and local state.
const unstaged = new Set(['node_modules', '.git', 'dist', 'coverage', 'data', '.vitest-reports']);

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function run(
  command: string,
  args: readonly string[],
  cwd: string,
  env: NodeJS.ProcessEnv = childEnv(),
): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      { cwd, env, maxBuffer: 64 * 1024 * 1024 },
      (error: ExecFileException | null, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
        resolve({ code, stdout, stderr: error !== null && stderr === '' ? error.message : stderr });
      },
    );
  });
}

async function ok(command: string, args: readonly string[], cwd: string): Promise<Run> {
  const result = await run(command, args, cwd);
  if (result.code !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} exited ${result.code}\n${result.stdout}\n${result.stderr}`,
    );
  }
  return result;
}

/**
 * The environment minus what `npm test` exports about this repository
 * (npm_package_*, npm_lifecycle_*, its prefixes), so npm in the temporary
 * project works on that project; registry, cache and proxy settings stay.
 */
function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    const name = key.toLowerCase();
    if (name.startsWith('npm_') && !name.startsWith('npm_config_')) continue;
    if (/^npm_config_(local_prefix|prefix|global_prefix|call|argv|npm_version)$/.test(name))
      continue;
    env[key] = value;
  }
  return env;
}

/** A probe process: imports each specifier and reports every module resolution. */
const probe = `import { registerHooks } from 'node:module';
const resolved = [];
registerHooks({
  resolve(specifier, context, nextResolve) {
    const entry = { specifier, url: null };
    resolved.push(entry);
    const result = nextResolve(specifier, context);
    entry.url = result.url;
    return result;
  },
});
const exports = {};
for (const specifier of process.argv.slice(2)) {
  exports[specifier] = Object.keys(await import(specifier)).sort();
}
process.stdout.write(JSON.stringify({ resolved, exports }));
`;

interface ProbeReport {
  readonly resolved: readonly { specifier: string; url: string | null }[];
  readonly exports: Record<string, readonly string[]>;
}

/** A consumer that type-checks against the packed declarations and runs. */
const consumer = `import { createRateLimiter, type Decision, type RateLimiter } from 'lockwatch';
import { createMemoryWindowStore } from 'lockwatch/memory';

const limiter: RateLimiter = createRateLimiter({
  store: createMemoryWindowStore(),
  policies: [{ name: 'per-second', limit: 1, window: '1s' }],
});
const first: Decision = await limiter.check('alice');
const second: Decision = await limiter.check('alice');
await limiter.close();
console.log(JSON.stringify([first.allowed, second.allowed]));

// Never called: proves the declarations are real types, not \`any\`.
export function rejected(): void {
  // @ts-expect-error limit is a number
  createRateLimiter({ policies: [{ name: 'bad', limit: 'ten', window: '1s' }] });
}
`;

const consumerTsconfig = {
  compilerOptions: {
    target: 'ES2023',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    strict: true,
    verbatimModuleSyntax: true,
    skipLibCheck: false,
    noEmit: true,
    types: [],
  },
  include: ['consumer.ts'],
};

describe('the packed package', { timeout: 180_000 }, () => {
  let work = '';
  let tarball = '';
  let packed: readonly string[] = [];
  let project = '';

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'lockwatch-pack-'));
    const staging = join(work, 'source');
    cpSync(repo, staging, {
      recursive: true,
      filter: (source) => {
        const path = relative(repo, source);
        return !unstaged.has(path.split(/[\\/]/)[0] ?? '') && !path.endsWith('.tgz');
      },
    });
    symlinkSync(join(repo, 'node_modules'), join(staging, 'node_modules'), 'dir');
    await ok('npm', ['run', 'build'], staging);
    const packDir = join(work, 'pack');
    mkdirSync(packDir);
    const pack = await ok(
      'npm',
      ['pack', '--ignore-scripts', '--json', '--pack-destination', packDir],
      staging,
    );
    const [info] = JSON.parse(pack.stdout) as [{ filename: string; files: { path: string }[] }];
    tarball = join(packDir, info.filename);
    packed = info.files.map((file) => file.path);

    project = join(work, 'project');
    mkdirSync(project);
    writeFileSync(
      join(project, 'package.json'),
      JSON.stringify({ name: 'lockwatch-consumer', private: true, type: 'module' }),
    );
    writeFileSync(join(project, 'probe.mjs'), probe);
    writeFileSync(join(project, 'consumer.ts'), consumer);
    writeFileSync(join(project, 'tsconfig.json'), JSON.stringify(consumerTsconfig, null, 2));
    await ok(
      'npm',
      [
        'install',
        '--no-audit',
        '--no-fund',
        '--no-package-lock',
        '--prefer-offline',
        tarball,
        `ioredis@${manifest.devDependencies.ioredis}`,
      ],
      project,
    );
  }, 240_000);

  afterAll(() => {
    if (work !== '') rmSync(work, { recursive: true, force: true });
  });

  async function probeImports(...specifiers: string[]): Promise<ProbeReport> {
    const env = childEnv();
    delete env.NODE_OPTIONS;
    const result = await run(process.execPath, ['probe.mjs', ...specifiers], project, env);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    return JSON.parse(result.stdout) as ProbeReport;
  }

  it('holds a .js and a .d.ts for every export, each bin, and only built files and docs', () => {
    for (const [entry, target] of Object.entries(manifest.exports)) {
      const targets = typeof target === 'string' ? [target] : [target.types, target.default];
      for (const file of targets) expect(packed, entry).toContain(file.replace(/^\.\//, ''));
    }
    for (const [name, target] of Object.entries(manifest.bin ?? {})) {
      expect(packed, `bin ${name}`).toContain(target.replace(/^\.\//, ''));
      const installed = readFileSync(join(project, 'node_modules', 'lockwatch', target), 'utf8');
      expect(installed.startsWith('#!/usr/bin/env node\n'), `bin ${name} shebang`).toBe(true);
    }
    const stray = packed.filter(
      (file) =>
        !/^dist\/.+\.(js|d\.ts)$/.test(file) &&
        !/^(package\.json|README\.md|CHANGELOG\.md|LICENSE(\.\w+)?)$/.test(file),
    );
    expect(stray).toEqual([]);
  });

  it('has declarations whose relative imports name .js files, as the JavaScript does', () => {
    const dist = join(project, 'node_modules', 'lockwatch', 'dist');
    const offenders: string[] = [];
    const relativeTs = /(['"])\.{1,2}\/[^'"\n]*?(?<!\.d)\.[mc]?ts\1/g;
    for (const file of readdirSync(dist, { recursive: true, encoding: 'utf8' })) {
      if (!file.endsWith('.d.ts')) continue;
      const text = readFileSync(join(dist, file), 'utf8');
      for (const match of text.matchAll(relativeTs)) offenders.push(`${file}: ${match[0]}`);
    }
    expect(offenders).toEqual([]);
  });

  it('loads no client library or framework on import of lockwatch and lockwatch/memory', async () => {
    const report = await probeImports('lockwatch', 'lockwatch/memory');
    expect(report.exports.lockwatch).toContain('createRateLimiter');
    expect(report.exports['lockwatch/memory']).toContain('createMemoryWindowStore');
    const urls = report.resolved.map((entry) => entry.url ?? '');
    // The installed tarball answered, not this repository by self-reference.
    const installed = realpathSync(join(project, 'node_modules/lockwatch/dist/index.js'));
    expect(urls).toContain(pathToFileURL(installed).href);
    expect(report.resolved.filter((entry) => forbiddenSpecifier.test(entry.specifier))).toEqual([]);
    expect(urls.filter((url) => forbiddenUrl.test(url))).toEqual([]);
  });

  it('loads ioredis on import of lockwatch/redis, so the probe does see client libraries', async () => {
    const report = await probeImports('lockwatch/redis');
    expect(report.exports['lockwatch/redis']).toContain('createRedisWindowStore');
    // The same filters as above, so they are shown to catch a client library.
    expect(report.resolved.map((entry) => entry.specifier)).toContain('ioredis');
    expect(report.resolved.some((entry) => forbiddenSpecifier.test(entry.specifier))).toBe(true);
    expect(report.resolved.some((entry) => forbiddenUrl.test(entry.url ?? ''))).toBe(true);
  });

  it('type-checks a TypeScript consumer with module NodeNext, which then runs', async () => {
    const check = await run(bin('tsc'), ['-p', 'tsconfig.json'], project);
    expect(check.stdout + check.stderr).toBe('');
    expect(check.code).toBe(0);
    const result = await run(process.execPath, ['consumer.ts'], project);
    expect(result.stderr).toBe('');
    expect(result.stdout.trim()).toBe('[true,false]');
  });

  it('passes publint --strict on the tarball', async () => {
    const publint = await run(bin('publint'), ['--strict', tarball], repo);
    expect(publint.code, publint.stdout + publint.stderr).toBe(0);
  });

  it('passes attw on the tarball with the esm-only profile', async () => {
    // ESM only: CommonJS `require` and the pre-exports node10 resolution are
    // unsupported on purpose (docs/packaging.md); the profile ignores just those.
    const attw = await run(bin('attw'), [tarball, '--profile', 'esm-only'], repo);
    expect(attw.code, attw.stdout + attw.stderr).toBe(0);
  });
});
