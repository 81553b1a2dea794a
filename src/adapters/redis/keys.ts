import { createHash } from 'node:crypto';
import { InvalidOptionError } from '../../domain/config/errors.ts';
import { escapeSubject } from '../../domain/ratelimit/subject.ts';

/** Escaped subjects longer than this are hashed, so keys stay short whatever the client sends. */
export const maxEscapedSubjectLength = 128;

const prefixPattern = /^[A-Za-z0-9._:-]{1,64}$/;

/**
 * Validates a key prefix: 1 to 64 characters from `A-Z a-z 0-9 . _ : -`.
 * Braces are refused because the first `{…}` of a key is its Cluster hash tag.
 */
export function keyPrefixOption(value: unknown, option = 'prefix'): string {
  if (typeof value !== 'string' || !prefixPattern.test(value)) {
    throw new InvalidOptionError(
      option,
      value,
      "1 to 64 characters from A-Z, a-z, 0-9, '.', '_', ':', '-'",
    );
  }
  return value;
}

/**
 * The Cluster hash tag of a subject: its escaped form (`A-Z a-z 0-9 . _ @ / -`
 * and `%XX`), or `#` and the base64url SHA-256 of that form when it is empty
 * or longer than {@link maxEscapedSubjectLength}. Escaped text never contains
 * `#`, `{` or `}`, so the two forms cannot collide and a client cannot move
 * a key to another tag or slot.
 */
export function subjectTag(subject: string): string {
  const escaped = escapeSubject(subject);
  if (escaped.length > 0 && escaped.length <= maxEscapedSubjectLength) return escaped;
  return `#${createHash('sha256').update(escaped).digest('base64url')}`;
}

/**
 * The Redis key of one policy's state for one subject: `<prefix>:{<tag>}:<policy>`.
 * All keys of a subject share the hash tag, so they live in one Cluster slot.
 */
export function windowKey(prefix: string, tag: string, policyName: string): string {
  return `${prefix}:{${tag}}:${policyName}`;
}
