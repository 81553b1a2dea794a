import {
  createMemoryWindowStore,
  type MemoryWindowStore,
} from '../../src/adapters/memory/window-store.ts';
import { StoreUnavailableError } from '../../src/domain/failure/errors.ts';
import type { Clock } from '../../src/ports/clock.ts';
import type { WindowStore } from '../../src/ports/window-store.ts';

/** `ok`: answer from the memory store; `fail`: reject at once; `hang`: never settle until aborted. */
export type SwitchMode = 'ok' | 'fail' | 'hang';

/** The four calls of the WindowStore port. */
export type StoreOperation = 'check' | 'peek' | 'refund' | 'reset';

/** A real WindowStore (a memory store inside) that fails on command. */
export interface SwitchableStore extends WindowStore {
  /** How the next calls behave; switch any time. */
  mode: SwitchMode;
  /** In `hang` mode, ignore the signal too (a call that settles only when {@link failHung} is called). */
  ignoreAbort: boolean;
  /** Calls received per operation, whatever the mode. */
  readonly calls: Record<StoreOperation, number>;
  /** Total calls received. */
  readonly totalCalls: number;
  /** Hanging calls not settled yet. */
  readonly hanging: number;
  /** Signals of the calls received, in order (undefined when the caller passed none). */
  readonly signals: readonly (AbortSignal | undefined)[];
  /** The memory store that answers in `ok` mode. */
  readonly inner: MemoryWindowStore;
  /** Rejects every hanging call with a StoreUnavailableError, late. */
  failHung(): void;
}

/** Creates a switchable store on `clock`, starting in `mode` (`ok` by default). */
export function createSwitchableStore(clock: Clock, mode: SwitchMode = 'ok'): SwitchableStore {
  const inner = createMemoryWindowStore({ clock });
  const calls: Record<StoreOperation, number> = { check: 0, peek: 0, refund: 0, reset: 0 };
  const signals: (AbortSignal | undefined)[] = [];
  const hung = new Set<(error: unknown) => void>();

  const run = <T>(
    operation: StoreOperation,
    signal: AbortSignal | undefined,
    answer: () => Promise<T>,
  ): Promise<T> => {
    calls[operation]++;
    signals.push(signal);
    if (store.mode === 'ok') return answer();
    if (store.mode === 'fail') {
      return Promise.reject(new StoreUnavailableError(`switchable store: ${operation} failed`));
    }
    return new Promise<T>((_, reject) => {
      const settle = (error: unknown) => {
        hung.delete(settle);
        signal?.removeEventListener('abort', onAbort);
        reject(error);
      };
      const onAbort = () => settle(signal!.reason);
      hung.add(settle);
      if (!store.ignoreAbort) signal?.addEventListener('abort', onAbort, { once: true });
    });
  };

  const store: SwitchableStore = {
    mode,
    ignoreAbort: false,
    calls,
    get totalCalls() {
      return calls.check + calls.peek + calls.refund + calls.reset;
    },
    get hanging() {
      return hung.size;
    },
    signals,
    inner,
    failHung() {
      for (const settle of [...hung])
        settle(new StoreUnavailableError('switchable store: late failure'));
    },
    check: (subject, policies, cost, options) =>
      run('check', options?.signal, () => inner.check(subject, policies, cost)),
    peek: (subject, policies, cost, options) =>
      run('peek', options?.signal, () => inner.peek(subject, policies, cost)),
    refund: (subject, policies, cost, options) =>
      run('refund', options?.signal, () => inner.refund(subject, policies, cost)),
    reset: (subject, policies, options) =>
      run('reset', options?.signal, () => inner.reset(subject, policies)),
    close: () => inner.close(),
  };
  return store;
}
