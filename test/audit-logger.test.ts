/** createAuditLogger: the domain logger on the system clock, whose close() holds the process. */
import { describe, expect, it } from 'vitest';
import { runModule } from './support/run-module.ts';

const index = new URL('../src/index.ts', import.meta.url).href;

describe('createAuditLogger', () => {
  it('close() keeps the process alive while its batch waits on the clock alone', async () => {
    // A sink whose write waits on the system clock, whose timers are unref'd: without close()
    // holding the process, the event loop would empty mid-close (exit code 13, nothing printed).
    const { code, stdout, stderr } = await runModule(`
      const { createAuditLogger, systemClock } = await import(${JSON.stringify(index)});
      const written = [];
      const sink = {
        write: (batch) => new Promise((resolve) => systemClock.schedule(300, () => { written.push(...batch); resolve(); })),
        async close() {},
      };
      const logger = createAuditLogger({ sink, closeTimeout: '5s' });
      logger.log({ ip: '198.51.100.1', endpoint: '/a', method: 'GET', statusCode: 200, latencyMs: 1 });
      const stats = await logger.close();
      process.stdout.write(\`closed \${stats.written} \${written.length}\`);
    `);
    expect(stdout, stderr).toBe('closed 1 1');
    expect(code, stderr).toBe(0);
  });
});
