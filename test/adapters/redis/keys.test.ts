import { describe, expect, it } from 'vitest';
import {
  keyPrefixOption,
  maxEscapedSubjectLength,
  subjectTag,
  windowKey,
} from '../../../src/adapters/redis/keys.ts';
import { InvalidOptionError } from '../../../src/domain/config/errors.ts';
import { hostileSubjects } from './subjects.ts';

describe('Redis key layout', () => {
  it('puts the subject tag between the only pair of braces', () => {
    for (const subject of hostileSubjects) {
      const key = windowKey('lw', subjectTag(subject), 'per-ip');
      expect(key.match(/[{}]/g)).toEqual(['{', '}']);
      expect(key.startsWith('lw:{')).toBe(true);
      expect(key.endsWith('}:per-ip')).toBe(true);
    }
  });

  it('gives every distinct subject its own tag', () => {
    const tags = hostileSubjects.map(subjectTag);
    expect(new Set(tags).size).toBe(hostileSubjects.length);
  });

  it('keeps tags short: long or empty subjects are hashed', () => {
    for (const subject of hostileSubjects) {
      const tag = subjectTag(subject);
      expect(tag.length).toBeGreaterThan(0);
      expect(tag.length).toBeLessThanOrEqual(maxEscapedSubjectLength);
    }
    expect(subjectTag('x'.repeat(10_000))).toMatch(/^#[A-Za-z0-9_-]{43}$/);
    expect(subjectTag('')).toMatch(/^#[A-Za-z0-9_-]{43}$/);
  });

  it('leaves plain subjects readable', () => {
    expect(subjectTag('203.0.113.7')).toBe('203.0.113.7');
    expect(subjectTag('user-42')).toBe('user-42');
  });

  it('accepts prefixes without braces only', () => {
    expect(keyPrefixOption('app:rl')).toBe('app:rl');
    for (const bad of ['', '{lw}', 'a}', 'with space', 'x'.repeat(65), 7]) {
      expect(() => keyPrefixOption(bad)).toThrow(InvalidOptionError);
    }
  });
});
