/** A function that receives events of type `E`. */
export type Listener<E> = (event: E) => void;

/** A small typed set of listeners; the domain's stand-in for `node:events`. */
export interface ListenerSet<E> {
  /** Adds `listener`; returns a function that removes it again. */
  add(listener: Listener<E>): () => void;
  /** Calls every listener with `event`, in the order they were added. */
  emit(event: E): void;
  /** Number of listeners registered. */
  readonly size: number;
}

/**
 * Creates a listener set. A listener that throws is skipped: observers must
 * never change the outcome of the store call that emitted the event.
 */
export function createListenerSet<E>(): ListenerSet<E> {
  const listeners = new Set<Listener<E>>();
  return {
    add(listener) {
      // A fresh wrapper per registration, so adding one function twice gives two independent subscriptions.
      const entry: Listener<E> = (event) => listener(event);
      listeners.add(entry);
      return () => {
        listeners.delete(entry);
      };
    },
    emit(event) {
      for (const listener of [...listeners]) {
        try {
          listener(event);
        } catch {
          // Deliberately ignored; see the function's doc comment.
        }
      }
    },
    get size() {
      return listeners.size;
    },
  };
}
