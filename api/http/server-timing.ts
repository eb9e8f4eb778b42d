/**
 * Server-Timing (W3C): how long the parts of a request took, sent as a response header. Browsers show it
 * in their developer tools; clients and `bench:batches` read it to tell the re-authentication from the
 * workflow's part of an operator's entry.
 */
export class ServerTiming {
  private readonly parts: { name: string; description: string; ms: number }[] = [];

  /** Runs `work`, noting how long it took under `name`. */
  async measure<T>(name: string, description: string, work: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await work();
    } finally {
      this.parts.push({ name, description, ms: performance.now() - started });
    }
  }

  /** The header's value, e.g. `signature;dur=41.2;desc="re-authentication"`. */
  header(): string {
    return this.parts.map((p) => `${p.name};dur=${p.ms.toFixed(1)};desc="${p.description}"`).join(', ');
  }

  /** The duration of `name` in a Server-Timing header value, if it is there. */
  static durationOf(header: string | null | undefined, name: string): number | undefined {
    for (const part of (header ?? '').split(',')) {
      const [metric, ...params] = part.trim().split(';');
      if (metric !== name) continue;
      const dur = params.map((p) => p.trim()).find((p) => p.startsWith('dur='));
      return dur ? Number(dur.slice(4)) : undefined;
    }
    return undefined;
  }
}
