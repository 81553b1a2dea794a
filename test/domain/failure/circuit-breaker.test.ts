import { describe, expect, it } from 'vitest';
import { createManualClock } from '../../../src/adapters/clock/manual.ts';
import { InvalidOptionError } from '../../../src/domain/config/errors.ts';
import {
  type BreakerAdmission,
  type BreakerPermit,
  type BreakerTransition,
  createCircuitBreaker,
  defineBreakerSettings,
} from '../../../src/domain/failure/circuit-breaker.ts';

function setup(failureThreshold = 3, cooldownMs = 1000) {
  const clock = createManualClock(0);
  const transitions: BreakerTransition[] = [];
  const breaker = createCircuitBreaker({
    clock,
    failureThreshold,
    cooldownMs,
    onStateChange: (t) => transitions.push(t),
  });
  return { clock, breaker, transitions };
}

function permitOf(admission: BreakerAdmission): BreakerPermit {
  if (!admission.allowed) throw new Error('expected the breaker to admit');
  return admission.permit;
}

describe('createCircuitBreaker', () => {
  it('opens after failureThreshold consecutive failures, not before', () => {
    const { breaker, transitions } = setup(3);
    for (let i = 0; i < 2; i++) breaker.failed(permitOf(breaker.admit()));
    expect(breaker.state).toBe('closed');
    expect(breaker.consecutiveFailures).toBe(2);
    breaker.failed(permitOf(breaker.admit()));
    expect(breaker.state).toBe('open');
    expect(transitions).toEqual([{ from: 'closed', to: 'open', at: 0 }]);
  });

  it('counts only consecutive failures: a success starts the count again', () => {
    const { breaker } = setup(3);
    breaker.failed(permitOf(breaker.admit()));
    breaker.failed(permitOf(breaker.admit()));
    breaker.succeeded(permitOf(breaker.admit()));
    expect(breaker.consecutiveFailures).toBe(0);
    breaker.failed(permitOf(breaker.admit()));
    breaker.failed(permitOf(breaker.admit()));
    expect(breaker.state).toBe('closed');
  });

  it('refuses every call while open, until the cooldown ends', () => {
    const { clock, breaker } = setup(1, 1000);
    clock.advance(50);
    breaker.failed(permitOf(breaker.admit()));
    expect(breaker.admit()).toEqual({ allowed: false, retryAt: 1050 });
    expect(breaker.retryAt).toBe(1050);
    clock.advance(999);
    expect(breaker.admit()).toEqual({ allowed: false, retryAt: 1050 });
    expect(breaker.state).toBe('open');
    clock.advance(1);
    expect(breaker.state).toBe('half-open');
    expect(breaker.retryAt).toBe(1050);
  });

  it('in half-open lets exactly one probe through at a time', () => {
    const { clock, breaker } = setup(1, 1000);
    breaker.failed(permitOf(breaker.admit()));
    clock.advance(1000);
    const probe = permitOf(breaker.admit());
    expect(probe.probe).toBe(true);
    clock.advance(10);
    expect(breaker.admit()).toEqual({ allowed: false, retryAt: 1010 });
    expect(breaker.admit().allowed).toBe(false);
    breaker.succeeded(probe);
    expect(breaker.state).toBe('closed');
    const next = permitOf(breaker.admit());
    expect(next.probe).toBe(false);
    expect(breaker.admit().allowed).toBe(true);
  });

  it('closes on a successful probe and reports each state change in order', () => {
    const { clock, breaker, transitions } = setup(2, 500);
    breaker.failed(permitOf(breaker.admit()));
    breaker.failed(permitOf(breaker.admit()));
    clock.advance(500);
    breaker.succeeded(permitOf(breaker.admit()));
    expect(transitions).toEqual([
      { from: 'closed', to: 'open', at: 0 },
      { from: 'open', to: 'half-open', at: 500 },
      { from: 'half-open', to: 'closed', at: 500 },
    ]);
    expect(breaker.consecutiveFailures).toBe(0);
  });

  it('re-opens for a full cooldown when the probe fails', () => {
    const { clock, breaker, transitions } = setup(1, 500);
    breaker.failed(permitOf(breaker.admit()));
    clock.advance(600);
    const probe = permitOf(breaker.admit());
    clock.advance(30);
    breaker.failed(probe);
    expect(breaker.state).toBe('open');
    expect(breaker.admit()).toEqual({ allowed: false, retryAt: 1130 });
    expect(transitions.map((t) => t.to)).toEqual(['open', 'half-open', 'open']);
  });

  it('a released probe frees the slot and changes nothing else', () => {
    const { clock, breaker } = setup(1, 500);
    breaker.failed(permitOf(breaker.admit()));
    clock.advance(500);
    const probe = permitOf(breaker.admit());
    breaker.released(probe);
    expect(breaker.state).toBe('half-open');
    const second = permitOf(breaker.admit());
    expect(second.probe).toBe(true);
    breaker.succeeded(second);
    expect(breaker.state).toBe('closed');
  });

  it('a released call does not count as a failure', () => {
    const { breaker } = setup(2);
    breaker.failed(permitOf(breaker.admit()));
    for (let i = 0; i < 5; i++) breaker.released(permitOf(breaker.admit()));
    expect(breaker.consecutiveFailures).toBe(1);
    expect(breaker.state).toBe('closed');
  });

  it('ignores outcomes of calls admitted before the last state change', () => {
    const { clock, breaker, transitions } = setup(1, 500);
    const slowSuccess = permitOf(breaker.admit());
    const slowFailure = permitOf(breaker.admit());
    breaker.failed(permitOf(breaker.admit()));
    clock.advance(500);
    const probe = permitOf(breaker.admit());
    breaker.succeeded(slowSuccess);
    expect(breaker.state).toBe('half-open');
    breaker.failed(slowFailure);
    expect(breaker.state).toBe('half-open');
    expect(breaker.admit().allowed).toBe(false);
    breaker.succeeded(probe);
    expect(transitions.map((t) => t.to)).toEqual(['open', 'half-open', 'closed']);
  });

  it('handing a permit back twice counts once', () => {
    const { breaker } = setup(2);
    const permit = permitOf(breaker.admit());
    breaker.failed(permit);
    breaker.failed(permit);
    expect(breaker.consecutiveFailures).toBe(1);
    expect(breaker.state).toBe('closed');
  });

  it('uses 5 failures and 5 s by default', () => {
    const clock = createManualClock(0);
    const breaker = createCircuitBreaker({ clock });
    expect(breaker.settings).toEqual({ failureThreshold: 5, cooldownMs: 5000 });
    for (let i = 0; i < 5; i++) breaker.failed(permitOf(breaker.admit()));
    expect(breaker.retryAt).toBe(5000);
  });
});

describe('defineBreakerSettings', () => {
  const cases: [string, Record<string, unknown>][] = [
    ['failure.breaker.failureThreshold', { failureThreshold: 0 }],
    ['failure.breaker.failureThreshold', { failureThreshold: 1.5 }],
    ['failure.breaker.failureThreshold', { failureThreshold: '3' }],
    ['failure.breaker.failureThreshold', { failureThreshold: 1001 }],
    ['failure.breaker.cooldownMs', { cooldownMs: 0 }],
    ['failure.breaker.cooldownMs', { cooldownMs: Number.NaN }],
    ['failure.breaker.cooldownMs', { cooldownMs: Number.POSITIVE_INFINITY }],
    ['failure.breaker.cooldownMs', { cooldownMs: 600_001 }],
  ];
  for (const [option, options] of cases) {
    it(`rejects ${JSON.stringify(options)} naming ${option}`, () => {
      const error = (() => {
        try {
          defineBreakerSettings(options);
        } catch (e) {
          return e;
        }
      })();
      expect(error).toBeInstanceOf(InvalidOptionError);
      expect(error).toMatchObject({ code: 'invalid_option', option });
    });
  }

  it('rejects a breaker that is not an object, and the clock-driven constructor validates too', () => {
    expect(() => defineBreakerSettings(5 as never)).toThrow(/failure\.breaker/);
    expect(() => createCircuitBreaker({ clock: createManualClock(), cooldownMs: -1 })).toThrow(
      InvalidOptionError,
    );
  });

  it('accepts the bounds', () => {
    expect(defineBreakerSettings({ failureThreshold: 1, cooldownMs: 1 })).toEqual({
      failureThreshold: 1,
      cooldownMs: 1,
    });
    expect(defineBreakerSettings({ failureThreshold: 1000, cooldownMs: 600_000 }, 'x.b')).toEqual({
      failureThreshold: 1000,
      cooldownMs: 600_000,
    });
  });
});
