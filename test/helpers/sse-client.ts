// A minimal Server-Sent Events client over fetch, collecting parsed events for tests.

export interface SseEvent {
  readonly event: string;
  readonly id?: string;
  readonly data: any;
}

export class SseClient {
  readonly events: SseEvent[] = [];
  status = 0;
  ended = false;
  private readonly controller = new AbortController();
  private waiters: (() => void)[] = [];
  private readonly opened: Promise<void>;

  constructor(
    url: string,
    headers: Record<string, string>,
    private readonly onEvent?: (event: SseEvent, receivedAt: number) => void,
  ) {
    this.opened = this.run(url, headers);
  }

  /** Resolves once the response headers arrived (status known). */
  async ready(): Promise<void> {
    await Promise.race([this.opened, this.waitUntil(() => this.status !== 0, 10_000)]);
  }

  private async run(url: string, headers: Record<string, string>): Promise<void> {
    try {
      const res = await fetch(url, { headers, signal: this.controller.signal });
      this.status = res.status;
      this.notify();
      if (!res.body || res.status !== 200) {
        this.events.push({ event: 'http_error', data: await res.text().then((t) => JSON.parse(t)).catch(() => null) });
        return;
      }
      const decoder = new TextDecoder();
      let buffer = '';
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let index: number;
        while ((index = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, index);
          buffer = buffer.slice(index + 2);
          const fields: Record<string, string> = {};
          for (const line of block.split('\n')) {
            const colon = line.indexOf(':');
            if (colon <= 0) continue;
            fields[line.slice(0, colon)] = line.slice(colon + 1).trimStart();
          }
          if (fields.event || fields.data) {
            const event = { event: fields.event ?? 'message', id: fields.id, data: fields.data ? JSON.parse(fields.data) : undefined };
            if (this.onEvent) this.onEvent(event, Date.now());
            else this.events.push(event);
            this.notify();
          }
        }
      }
    } catch (err) {
      if ((err as Error).name !== 'AbortError') throw err;
    } finally {
      this.ended = true;
      this.notify();
    }
  }

  named(event: string): SseEvent[] {
    return this.events.filter((e) => e.event === event);
  }

  async waitUntil(condition: () => boolean, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`SSE condition not met within ${timeoutMs} ms; events: ${JSON.stringify(this.events).slice(0, 800)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(remaining, 200));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.controller.abort();
  }

  private notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}
