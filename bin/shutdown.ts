/**
 * How an Ampoule process stops on SIGINT or SIGTERM: its parts in the order given — what takes work in first,
 * what holds data last — each awaited. A part that fails to stop is logged and the others still stop, so the
 * database is always closed; a second signal while stopping changes nothing. The process exits 0 when every
 * part stopped cleanly, 1 otherwise.
 */
import type { Logger } from 'pino';

export interface ShutdownStep {
  /** What stops, as the log names it. */
  name: string;
  stop(): unknown;
}

/** Runs the steps in order; true when all of them stopped without an error. */
export async function stopInOrder(log: Logger, steps: (ShutdownStep | undefined)[]): Promise<boolean> {
  let clean = true;
  for (const step of steps) {
    if (!step) continue;
    try {
      await step.stop();
    } catch (err) {
      clean = false;
      log.error({ err, part: step.name }, `stopping ${step.name} failed; stopping the rest`);
    }
  }
  return clean;
}

/** On the first SIGINT or SIGTERM, stops the steps in order and exits. */
export function stopOnSignals(log: Logger, steps: (ShutdownStep | undefined)[]): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    void stopInOrder(log, steps).then((clean) => process.exit(clean ? 0 : 1));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}
