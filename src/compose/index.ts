/** The composition root: `createLockWatch`, `memoryStores`, `lockWatchFromEnv`. */
export * from './env.ts';
export * from './lockwatch.ts';
export * from './login.ts';
export * from './stores.ts';
