/**
 * Refresh rotations whose store call failed without saying whether it was
 * applied. A timed-out Redis script still runs, and a PostgreSQL rotation
 * still commits once its row lock frees; the client, told 503, retries with
 * the same refresh token, which the store then sees as the previous token:
 * reuse, and the session ends. Remembering the successor such a call asked
 * for lets one retry of that token, soon after, ask for the same successor
 * with a grace period covering the unknown rotation: the retry gets the pair
 * the failed call would have returned, whether or not the store applied it.
 */

/** How long after a rotation failed its token may be retried once, ms. */
export const unknownRotationWindowMs = 30_000;

/** Most rotations remembered at once; past it the oldest is forgotten (its retry is then reuse). */
export const maxUnknownRotations = 10_000;

/** A rotation whose outcome is unknown. */
export interface UnknownRotation {
  /** The time it sent the store, epoch ms (the first attempt's, for a retry that failed too). */
  readonly at: number;
  /** The successor refresh token it asked for. */
  readonly nextToken: string;
  /** The access-token id that goes with it, when it is random (no refresh key to derive it). */
  readonly jti?: string | undefined;
}

/** Unknown rotations by hash of the presented refresh token, bounded in number and age. */
export interface UnknownRotations {
  /** Remembers `rotation` for the token hashed `presentedHash`; `now` is the clock time. */
  remember(presentedHash: string, rotation: UnknownRotation, now: number): void;
  /**
   * Takes (removes) the rotation remembered for `presentedHash` if it is
   * younger than {@link unknownRotationWindowMs} at `now`: one retry only.
   */
  take(presentedHash: string, now: number): UnknownRotation | undefined;
  /** Rotations held now (expired ones not yet dropped included). */
  readonly size: number;
}

/** Creates an empty set of unknown rotations. */
export function createUnknownRotations(
  windowMs = unknownRotationWindowMs,
  maxEntries = maxUnknownRotations,
): UnknownRotations {
  const entries = new Map<string, UnknownRotation>();
  // Both sides, like the grace period: the clock may have stepped back since.
  const fresh = (rotation: UnknownRotation, now: number) => Math.abs(now - rotation.at) < windowMs;
  return {
    remember(presentedHash, rotation, now) {
      entries.delete(presentedHash);
      // Insertion order is nearly age order: expired ones go from the head, then, when still
      // full, the oldest.
      for (const [hash, old] of entries) {
        if (fresh(old, now)) break;
        entries.delete(hash);
      }
      if (entries.size >= maxEntries) entries.delete(entries.keys().next().value!);
      entries.set(presentedHash, rotation);
    },
    take(presentedHash, now) {
      const rotation = entries.get(presentedHash);
      if (rotation === undefined) return undefined;
      entries.delete(presentedHash);
      return fresh(rotation, now) ? rotation : undefined;
    },
    get size() {
      return entries.size;
    },
  };
}
