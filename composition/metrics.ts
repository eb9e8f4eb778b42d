/**
 * A process's metrics, in Prometheus's text format at `/metrics` (prom-client): its HTTP requests, the steps its
 * workers complete, how long an operator waits for the next step, signatures by meaning, how far the audit
 * sealer lags, the OPC UA sessions up per unit, Node's own process figures — and the Temporal SDK's worker and client
 * metrics, which the SDK's core serves on a loopback port of its own (`temporalMetricsUrl`) and `/metrics` appends.
 *
 * No label names a batch, a lot, a user or any other record: labels are few-valued (a route's pattern, a method, a
 * status, a step kind, a signature's meaning, a unit's code), so that a scrape stays small and says nothing about
 * the records themselves.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class Metrics {
  readonly registry = new Registry();
  /** Where the Temporal SDK's core serves its metrics in this process, if it does. */
  temporalMetricsUrl?: string;

  readonly httpRequestDuration = new Histogram({
    name: 'ampoule_http_request_duration_seconds',
    help: 'HTTP requests by method, route pattern and status, from arrival to the response sent',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly stepsCompleted = new Counter({
    name: 'ampoule_steps_completed_total',
    help: 'Batch steps recorded complete, by step kind (written by this process’s batch activities)',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly stepReadyLatency = new Histogram({
    name: 'ampoule_step_ready_latency_seconds',
    help: 'From an operator’s step completion or verification reaching the API to the batch’s answer that it is recorded and the next step is ready',
    labelNames: ['action'] as const,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly signatures = new Counter({
    name: 'ampoule_signatures_total',
    help: 'Electronic signatures given (re-authenticated), by meaning',
    labelNames: ['meaning'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  /** A gauge whose value is read at each scrape (`collect` sets it). */
  gauge<L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    collect: (g: Gauge<L>) => Promise<void> | void,
  ): void {
    new Gauge<L>({
      name,
      help,
      labelNames,
      registers: [this.registry],
      async collect() {
        this.reset();
        await collect(this);
      },
    });
  }

  /** The text a scrape gets: this process's metrics, then the Temporal SDK's (when its core serves them). */
  async text(): Promise<string> {
    const own = await this.registry.metrics();
    if (!this.temporalMetricsUrl) return own;
    try {
      const r = await fetch(this.temporalMetricsUrl, { signal: AbortSignal.timeout(2_000) });
      return `${own}\n${await r.text()}`;
    } catch {
      return own; // the SDK's exporter not up (yet): this process's own figures still count
    }
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
