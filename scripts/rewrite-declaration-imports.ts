/**
 * Post-build step of `npm run build`: rewrites relative `.ts` specifiers in the
 * emitted declaration files to `.js`.
 *
 * Why: the sources import `./x.ts` and `rewriteRelativeImportExtensions`
 * rewrites those in the emitted JavaScript only. tsc keeps `./x.ts` in `.d.ts`
 * files (microsoft/TypeScript#61037, by design: tsc itself maps it to
 * `./x.d.ts`), but other readers of declarations (IDEs other than VS Code,
 * declaration bundlers, runtimes that follow `types`) look for a file that
 * is not in the package. After this step the declarations name the same
 * files as the JavaScript does. Every rewritten specifier is checked to have
 * its `.d.ts` beside it, so a broken specifier fails the build instead of
 * shipping.
 *
 * Usage: node scripts/rewrite-declaration-imports.ts [dist-dir]
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

const extensions: Readonly<Record<string, string>> = { ts: 'js', mts: 'mjs', cts: 'cjs' };

// `from '…'`, `import '…'`, `import('…')` (inline type imports) and
// `export * from '…'`; only relative specifiers, never `.d.ts` ones.
const specifier =
  /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(['"])(\.{1,2}\/[^'"\n]*?)(?<!\.d)\.(ts|mts|cts)\2/g;

function rewriteDeclarationImports(dist: string): number {
  let count = 0;
  const missing: string[] = [];
  for (const file of declarationFiles(dist)) {
    const before = readFileSync(file, 'utf8');
    const after = before.replace(
      specifier,
      (_match, lead: string, quote: string, stem: string, ext: string) => {
        const declaration = resolve(dirname(file), `${stem}.d.${ext}`);
        if (!existsSync(declaration)) missing.push(`${file}: ${stem}.${ext}`);
        count += 1;
        return `${lead}${quote}${stem}.${extensions[ext]}${quote}`;
      },
    );
    if (after !== before) writeFileSync(file, after);
  }
  if (missing.length > 0) {
    throw new Error(`declaration imports without a declaration file:\n${missing.join('\n')}`);
  }
  return count;
}

function* declarationFiles(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* declarationFiles(path);
    else if (/\.d\.[mc]?ts$/.test(entry.name)) yield path;
  }
}

const dist = resolve(process.argv[2] ?? 'dist');
const count = rewriteDeclarationImports(dist);
console.log(`rewrote ${count} relative .ts specifiers in declarations under ${dist}`);
