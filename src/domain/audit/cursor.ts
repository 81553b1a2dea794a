import { InvalidOptionError } from '../config/errors.ts';

/** A position in the newest-first order: the last record of a page. */
export interface AuditCursor {
  /** Its timestamp, epoch ms. */
  readonly timestamp: number;
  /** Its id. */
  readonly id: string;
}

/** Encodes a cursor as an opaque URL-safe string. */
export function encodeCursor(cursor: AuditCursor): string {
  return btoa(`${cursor.timestamp}.${cursor.id}`)
    .replaceAll('+', '-')
    .replaceAll('/', '_')
    .replace(/=+$/, '');
}

/** Decodes a cursor from {@link encodeCursor}; anything else throws an InvalidOptionError. */
export function decodeCursor(value: unknown): AuditCursor {
  if (typeof value === 'string' && value.length <= 200 && /^[A-Za-z0-9_-]+$/.test(value)) {
    let text = '';
    try {
      text = atob(value.replaceAll('-', '+').replaceAll('_', '/'));
    } catch {
      // Not base64: falls through to the error below.
    }
    const match =
      /^(\d{1,16})\.([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/.exec(text);
    if (match) return { timestamp: Number(match[1]), id: match[2]! };
  }
  throw new InvalidOptionError('cursor', value, 'the nextCursor of a previous page');
}
