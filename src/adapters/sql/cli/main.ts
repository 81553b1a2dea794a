#!/usr/bin/env node
// The `lockwatch` command (package.json `bin`): migrations and audit-log queries.
import { runCli } from './run.ts';

process.exitCode = await runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
  now: () => Date.now(),
});
