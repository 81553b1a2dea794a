import { InvalidOptionError } from '../../domain/config/errors.ts';

/** A position in the newest-first order: the last record of a page. */
export interface AuditCursor {
  /** Its timestamp, epoch ms. */
  readonly timestamp: number;
  /** Its id. */
  readonly id: string;
}

/** Encodes a cursor as an opaque URL-safe string. */
export function encodeCursor(cursor: AuditCursor): string {
  return Buffer.from(`${cursor.timestamp}.${cursor.id}`, 'utf8').toString('base64url');
}

/** Decodes a cursor from {@link encodeCursor}; anything else throws an InvalidOptionError. */
export function decodeCursor(value: unknown): AuditCursor {
  if (typeof value === 'string' && value.length <= 200) {
    const text = Buffer.from(value, 'base64url').toString('utf8');
    const match = /^(\d{1,16})\.([0-9a-f-]{36})$/.exec(text);
    if (match) return { timestamp: Number(match[1]), id: match[2]! };
  }
  throw new InvalidOptionError('cursor', value, 'the nextCursor of a previous page');
}
