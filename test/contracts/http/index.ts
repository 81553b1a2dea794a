import { describe } from 'vitest';
import { auditContract } from './audit.ts';
import { failureContract } from './failure.ts';
import { guardContract } from './guard.ts';
import type { AdapterFactory, Protocol } from './harness.ts';
import { hooksContract } from './hooks.ts';
import { hostileContract } from './hostile.ts';
import { limitsContract } from './limits.ts';
import { proxyContract } from './proxy.ts';
import { routingContract } from './routing.ts';
import { skipContract } from './skip.ts';

export type { AdapterFactory, Protocol, TestServer } from './harness.ts';

/**
 * The HTTP conformance suite: every framework adapter runs it, over real
 * sockets, and must give the same statuses, headers and bodies. `factory`
 * starts the adapter's app (see harness.ts for what its handler answers).
 */
export function httpConformance(
  name: string,
  factory: AdapterFactory,
  protocol: Protocol = 'http/1.1',
): void {
  describe(`HTTP conformance: ${name} (${protocol})`, () => {
    limitsContract(factory);
    proxyContract(factory);
    skipContract(factory);
    routingContract(factory, protocol);
    failureContract(factory);
    hooksContract(factory);
    hostileContract(factory, protocol);
    guardContract(factory);
    auditContract(factory);
  });
}
