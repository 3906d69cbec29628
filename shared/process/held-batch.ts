// Items that may wait: each is held up to `holdMs` from the first of its batch, then the
// whole batch goes to the handler in one call. Unlike CoalescingBatcher, which never
// makes an item wait for a timer, this is for work that is off every caller's path and
// cheaper together (a backup report, a status mark). Batches are handled one after
// another, in order; flush() sends what is held now.

export class HeldBatch<T> {
  private held: { items: readonly T[]; resolve: () => void; reject: (err: unknown) => void }[] = [];
  private timer: NodeJS.Timeout | null = null;
  /** Handler calls run one after another. */
  private handling: Promise<void> = Promise.resolve();

  constructor(
    private readonly holdMs: number,
    private readonly handler: (items: T[]) => Promise<void>,
  ) {}

  /** Resolves (or rejects) with the handler call that takes these items. */
  add(items: readonly T[]): Promise<void> {
    if (items.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.held.push({ items, resolve, reject });
      this.timer ??= setTimeout(() => void this.flush().catch(() => undefined), this.holdMs);
    });
  }

  /** Hands what is held now to the handler; resolves once that call (and every earlier one) is over. */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const batch = this.held.splice(0);
    const call = this.handling.then(async () => {
      if (batch.length > 0) await this.handler(batch.flatMap((b) => b.items));
    });
    call.then(
      () => batch.forEach((b) => b.resolve()),
      (err: unknown) => batch.forEach((b) => b.reject(err)),
    );
    this.handling = call.catch(() => undefined);
    return call;
  }
}
