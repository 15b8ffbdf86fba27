/**
 * Remembers single-use request ids (Slack's trigger ids) long enough to outlast the 5-minute window in
 * which a signed request is accepted at all: a request seen twice in that time is a replay.
 */
export class ReplayGuard {
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly ttlMs = 10 * 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** True the first time `id` is seen within the window. */
  firstSight(id: string): boolean {
    const now = this.now();
    for (const [key, expires] of this.seen) {
      if (expires > now) break; // insertion order is expiry order
      this.seen.delete(key);
    }
    if (this.seen.has(id)) return false;
    this.seen.set(id, now + this.ttlMs);
    return true;
  }
}
