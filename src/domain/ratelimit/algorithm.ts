import { type FixedWindowState, fixedWindowRefund, fixedWindowStep } from './fixed-window.ts';
import { type GcraState, gcraRefund, gcraStep } from './gcra.ts';
import { type SlidingLogState, slidingLogRefund, slidingLogStep } from './sliding-log.ts';
import {
  type SlidingWindowState,
  slidingWindowRefund,
  slidingWindowStep,
} from './sliding-window.ts';
import type { StepResult } from './step.ts';
import type { Policy } from './types.ts';

/** The state of any algorithm; which one is given by the policy's `algorithm`. */
export type WindowState = GcraState | FixedWindowState | SlidingWindowState | SlidingLogState;

/** Runs the step function of `policy.algorithm`: the specification every store follows. */
export function step(
  state: WindowState | undefined,
  now: number,
  policy: Policy,
  cost: number,
): StepResult<WindowState> {
  switch (policy.algorithm) {
    case 'gcra':
      return gcraStep(state as GcraState | undefined, now, policy, cost);
    case 'fixed-window':
      return fixedWindowStep(state as FixedWindowState | undefined, now, policy, cost);
    case 'sliding-window':
      return slidingWindowStep(state as SlidingWindowState | undefined, now, policy, cost);
    case 'sliding-log':
      return slidingLogStep(state as SlidingLogState | undefined, now, policy, cost);
  }
}

/** Runs the refund function of `policy.algorithm`; undefined means the state is now empty. */
export function refund(
  state: WindowState | undefined,
  now: number,
  policy: Policy,
  cost: number,
): WindowState | undefined {
  switch (policy.algorithm) {
    case 'gcra':
      return gcraRefund(state as GcraState | undefined, now, policy, cost);
    case 'fixed-window':
      return fixedWindowRefund(state as FixedWindowState | undefined, now, policy, cost);
    case 'sliding-window':
      return slidingWindowRefund(state as SlidingWindowState | undefined, now, policy, cost);
    case 'sliding-log':
      return slidingLogRefund(state as SlidingLogState | undefined, now, policy, cost);
  }
}
