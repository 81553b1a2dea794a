import { describe, expect, it } from 'vitest';
import { createManualClock } from '../../../src/adapters/clock/manual.ts';
import { createLoggingAlertSink } from '../../../src/adapters/log/alert-sink.ts';
import { createAlert } from '../../../src/domain/alerts/alert.ts';

describe('logging alert sink', () => {
  it('logs one line per alert at the level of its severity, with the payload as JSON', async () => {
    const lines: [string, string][] = [];
    const logger = {
      info: (m: string) => lines.push(['info', m]),
      warn: (m: string) => lines.push(['warn', m]),
      error: (m: string) => lines.push(['error', m]),
    };
    const sink = createLoggingAlertSink({ logger });
    const clock = createManualClock();
    for (const severity of ['info', 'warning', 'critical'] as const) {
      await sink.send(
        createAlert({
          type: 'burst',
          subject: 'ip:192.0.2.1',
          timestamp: clock.now(),
          requestCountInWindow: 51,
          windowMs: 10_000,
          severity,
        }),
      );
    }
    await sink.close();
    expect(lines.map(([level]) => level)).toEqual(['info', 'warn', 'error']);
    const [, message] = lines[0]!;
    expect(message.startsWith('LockWatch alert burst ip:192.0.2.1 {')).toBe(true);
    expect(JSON.parse(message.slice(message.indexOf('{')))).toMatchObject({
      type: 'burst',
      ip: null,
      request_count_in_window: 51,
      window_seconds: 10,
    });
  });
});
