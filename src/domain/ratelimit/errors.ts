import { LockWatchError } from '../errors.ts';

/** A store was used after `close()`. */
export class StoreClosedError extends LockWatchError {
  constructor(store: string) {
    super('store_closed', `${store} is closed.`);
  }
}
