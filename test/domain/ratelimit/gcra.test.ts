import { describe, expect, it } from 'vitest';
import { gcraStep } from '../../../src/domain/ratelimit/gcra.ts';
import { definePolicy } from '../../../src/domain/ratelimit/policy.ts';

describe('gcraStep', () => {
  const policy = definePolicy({ name: 'p', limit: 3, window: 1000 });

  it('admits the burst at once and then one unit per emission interval', () => {
    let state = undefined as ReturnType<typeof gcraStep>['state'];
    const admitted: boolean[] = [];
    for (let i = 0; i < 4; i++) {
      const r = gcraStep(state, 0, policy, 1);
      admitted.push(r.allowed);
      if (r.allowed) state = r.state;
    }
    expect(admitted).toEqual([true, true, true, false]);
    const denied = gcraStep(state, 0, policy, 1);
    expect(denied.retryAfterMs).toBe(334);
    expect(gcraStep(state, 333, policy, 1).allowed).toBe(false);
    expect(gcraStep(state, 334, policy, 1).allowed).toBe(true);
  });
});
