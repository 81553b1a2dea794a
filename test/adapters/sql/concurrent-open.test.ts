import { type ChildProcess, fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSqlDatabase } from '../../../src/adapters/sql/database.ts';
import { migrationsOf } from '../../../src/adapters/sql/migrations/index.ts';

/**
 * Every process of an application opens (and on SQLite migrates) its
 * database at start, and a cluster of them starts at the same moment: on a
 * new file they race to create the same tables. Each must open.
 */

const workerPath = fileURLToPath(new URL('./workers/open-worker.ts', import.meta.url));
const processes = 4;

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lockwatch-open-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

interface Message {
  readonly type: 'ready' | 'opened' | 'failed';
  readonly message?: string;
}

function start(url: string): { child: ChildProcess; next: () => Promise<Message> } {
  const child = fork(workerPath, [url], {
    execArgv: [],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  // A worker that dies says so, instead of leaving the test waiting for its message.
  const next = () =>
    new Promise<Message>((resolve, reject) => {
      const onMessage = (message: Message) => {
        child.off('exit', onExit);
        resolve(message);
      };
      // A clean exit may come before its last message is read: only a failed one says no answer.
      const onExit = (code: number | null) => {
        if (code === 0) return;
        child.off('message', onMessage);
        reject(new Error(`open worker exited (${code}) before answering`));
      };
      child.once('message', onMessage);
      child.once('exit', onExit);
    });
  return { child, next };
}

describe('opening a new SQLite file while another connection holds its write lock', () => {
  it('migrates once the lock is released, timers firing meanwhile', async () => {
    const url = `sqlite:${join(dir, 'held.db')}`;
    // Creates the file without migrating it, then holds its write lock as a migrating process would.
    const other = await openSqlDatabase({ url, migrate: 'off' });
    if (other.native.kind !== 'sqlite') throw new Error('SQLite expected');
    const holder = other.native.db;
    holder.exec('begin immediate');
    const release = setTimeout(() => holder.exec('commit'), 300);
    let ticks = 0;
    const interval = setInterval(() => ticks++, 5);
    try {
      const started = performance.now();
      const db = await openSqlDatabase({ url });
      expect(performance.now() - started).toBeGreaterThanOrEqual(250);
      expect(ticks).toBeGreaterThanOrEqual(20);
      expect((await db.migrationStatus()).pending).toEqual([]);
      await db.close();
    } finally {
      clearInterval(interval);
      clearTimeout(release);
      if (holder.inTransaction) holder.exec('commit');
      await other.close();
    }
  });
});

describe('processes opening one new SQLite file at the same moment', () => {
  it(`all ${processes} open it, and each migration is applied once`, async () => {
    for (let round = 0; round < 3; round++) {
      const url = `sqlite:${join(dir, `new-${round}.db`)}`;
      const workers = Array.from({ length: processes }, () => start(url));
      try {
        await Promise.all(workers.map(async (w) => expect((await w.next()).type).toBe('ready')));
        const results = workers.map((w) => w.next());
        for (const w of workers) w.child.send('go');
        for (const result of await Promise.all(results)) {
          expect(result, result.message).toMatchObject({ type: 'opened' });
        }
      } finally {
        for (const w of workers) w.child.kill();
      }
      const db = await openSqlDatabase({ url, migrate: 'check' });
      try {
        const status = await db.migrationStatus();
        expect(status.pending).toEqual([]);
        expect(status.executed).toEqual(migrationsOf('sqlite').map((m) => m.name));
      } finally {
        await db.close();
      }
    }
  }, 60_000);
});
