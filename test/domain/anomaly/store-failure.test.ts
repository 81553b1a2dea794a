import { describe, expect, it } from 'vitest';
import { createManualClock } from '../../../src/adapters/clock/manual.ts';
import { withFailurePolicy } from '../../../src/adapters/failure/window-store.ts';
import { createMemoryAlertSink } from '../../../src/adapters/memory/alert-sink.ts';
import { createAlertDispatcher, createAnomalyMonitor } from '../../../src/anomaly.ts';
import type { MonitorEvent } from '../../../src/domain/anomaly/monitor.ts';
import { createRateLimiter } from '../../../src/rate-limiter.ts';
import { createSwitchableStore } from '../../support/switchable-store.ts';

async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
}

describe('anomaly layer when the shared store fails', () => {
  for (const policy of ['open', 'closed'] as const) {
    it(`failure policy ${policy}: bans and dedup never refuse a request; alerts still go out once per server`, async () => {
      const clock = createManualClock();
      const primary = createSwitchableStore(clock);
      const store = withFailurePolicy(primary, { policy, clock, timeoutMs: 50 });
      const sink = createMemoryAlertSink();
      const alerts = createAlertDispatcher({ sink, store, clock });
      const events: MonitorEvent[] = [];
      const monitor = createAnomalyMonitor({
        store,
        clock,
        alerts,
        bans: {},
        onEvent: (e) => events.push(e),
      });
      const limiter = createRateLimiter({
        store,
        policies: [{ name: 'ip', limit: 1000, window: '1m' }, ...monitor.policies],
      });
      await monitor.bans!.ban('ip:192.0.2.1', '1h');
      primary.mode = 'fail';
      // The ban cannot be read: the rate limit's failure policy alone decides.
      const screening = await monitor.check(limiter, { subject: 'ip:192.0.2.2', ip: '192.0.2.2' });
      expect(screening.reason).toBe(policy === 'open' ? 'ok' : 'rate_limited');
      // A burst seen while the store is down cannot be detected (degraded decisions show none);
      // an alert raised directly still goes out, once, with a dedup_error.
      for (let i = 0; i < 3; i++) {
        await monitor.recordAuthFailure({ ip: '192.0.2.3' });
      }
      alerts.raise({
        id: 'a1',
        type: 'burst',
        subject: 'ip:192.0.2.4',
        timestamp: clock.now(),
        requestCountInWindow: 51,
        windowSeconds: 10,
        severity: 'warning',
      });
      alerts.raise({
        id: 'a2',
        type: 'burst',
        subject: 'ip:192.0.2.4',
        timestamp: clock.now(),
        requestCountInWindow: 52,
        windowSeconds: 10,
        severity: 'warning',
      });
      await settle();
      expect(sink.alerts.map((a) => a.id)).toEqual(['a1']);
      expect(alerts.counts).toMatchObject({ sent: 1, suppressed: 1, dedupErrors: 1 });
      await monitor.close();
    });
  }
});
