import { type CliIo, runCli } from '../../../src/adapters/sql/cli/run.ts';

/** What one run of the `lockwatch` command line printed, and its exit code. */
export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the `lockwatch` command line with `args`, no environment, and `now` as its clock. */
export async function cli(args: string[], now = Date.now()): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
    env: {},
    now: () => now,
  };
  const code = await runCli(args, io);
  return { code, stdout, stderr };
}
