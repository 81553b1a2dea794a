import { execFile } from 'node:child_process';

/** Runs an ES module in a fresh Node process; resolves to its exit code, stdout and stderr. */
export function runModule(
  source: string,
  timeoutMs = 30_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--input-type=module', '-e', source],
      { env: { ...process.env, NODE_OPTIONS: '' }, timeout: timeoutMs },
      (error, stdout, stderr) =>
        resolve({
          code: error === null ? 0 : ((error.code as number | null) ?? null),
          stdout,
          stderr,
        }),
    );
  });
}
