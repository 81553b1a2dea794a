/**
 * Runs every benchmark in bench/ one after the other, each in its own Node
 * process so one's heap and JIT state do not colour the next. Each prints
 * Markdown tables of ratios measured side by side in one run.
 * Run: npm run bench   (or: node bench/run.ts memory redis)
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const order = ['memory', 'redis', 'audit', 'audit-id', 'tokens', 'anomaly', 'http'];
const wanted = process.argv.slice(2);
const names = wanted.length > 0 ? wanted : order;
let failed = 0;
for (const name of names) {
  const file = new URL(`./${name}.ts`, import.meta.url);
  if (!existsSync(file)) continue;
  console.log(`\n## bench/${name}.ts\n`);
  const result = spawnSync(process.execPath, [file.pathname], { stdio: 'inherit' });
  if (result.status !== 0) failed++;
}
process.exit(failed === 0 ? 0 : 1);
