// Sliding-window counter for API calls per minute within one execution. Pure: the
// caller passes the time.

export class RateWindow {
  private readonly stamps: number[] = [];

  constructor(
    readonly limit: number,
    readonly windowMs = 60_000,
  ) {}

  /** Takes a slot at `now` (ms) if fewer than `limit` were taken in the last window. */
  tryTake(now: number): boolean {
    while (this.stamps.length > 0 && this.stamps[0]! <= now - this.windowMs) this.stamps.shift();
    if (this.stamps.length >= this.limit) return false;
    this.stamps.push(now);
    return true;
  }
}
