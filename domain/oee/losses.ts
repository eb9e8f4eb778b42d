/**
 * OEE's losses: a tree of reasons whose top level is Nakajima's six big losses, the reasons a stop may be given
 * (`<loss>/<reason>`), and the Pareto of a period's losses — where the time went that was not production at the
 * planned rate: the stops by reason (an unqualified stop stays visible as such), small stops, setup, and the
 * planned runtime of what QA rejected.
 */
import type { OeeFigures, Stop } from './oee';

export const SIX_BIG_LOSSES = {
  breakdowns: 'Breakdowns (equipment failure)',
  'setup-adjustments': 'Setup and adjustments',
  'small-stops': 'Small stops (idling, minor stoppages)',
  'reduced-speed': 'Reduced speed',
  'startup-rejects': 'Startup rejects',
  'production-rejects': 'Production rejects',
} as const;
export type BigLoss = keyof typeof SIX_BIG_LOSSES;

/** The reasons under each big loss an operator gives a stop (the site may extend them in its OEE settings). */
export const DEFAULT_STOP_REASONS: Record<BigLoss, Record<string, string>> = {
  breakdowns: {
    'equipment-failure': 'Equipment failure',
    'controller-fault': 'Controller or communication fault',
    'utility-failure': 'Utility failure (WFI, steam, power)',
  },
  'setup-adjustments': {
    cleaning: 'Cleaning (CIP, SIP)',
    changeover: 'Product changeover',
    calibration: 'Calibration or adjustment',
  },
  'small-stops': {
    'waiting-operator': 'Waiting for an operator',
    'waiting-material': 'Waiting for material',
    'waiting-qa': 'Waiting for QA (sample result, approval)',
  },
  'reduced-speed': { 'slow-phase': 'A phase ran slower than planned' },
  'startup-rejects': { 'startup-scrap': 'Scrap while starting up' },
  'production-rejects': { 'batch-rejected': 'Batch rejected by QA' },
};

/** `<loss>/<reason>` of the tree, or why not. */
export function stopReasonProblem(code: string, reasons = DEFAULT_STOP_REASONS): string | undefined {
  const [loss, reason, ...rest] = code.split('/');
  if (rest.length > 0 || !reason || !Object.hasOwn(reasons, loss) || !Object.hasOwn(reasons[loss as BigLoss], reason))
    return `no stop reason ${code}: expected one of ${Object.entries(reasons)
      .flatMap(([l, rs]) => Object.keys(rs).map((r) => `${l}/${r}`))
      .join(', ')}`;
  return undefined;
}

export interface LossLine {
  /** `<loss>/<reason>`, `<loss>` for a loss without reasons (small stops, setup), or `unqualified`. */
  reason: string;
  loss: BigLoss | 'unqualified';
  /** Milliseconds. */
  duration: number;
  count: number;
}

/** A stop with the reason given (if any), keyed by its unit and start. */
export interface QualifiedStop extends Stop {
  reason?: string;
}

/**
 * The Pareto of a period's losses, largest first: the stops by reason (unqualified ones as `unqualified`), small
 * stops, setup time (AUST), and the planned runtime of rejected batches (quality loss as time).
 */
export function lossPareto(f: OeeFigures, stops: readonly QualifiedStop[], rejectedRuntime: number): LossLine[] {
  const lines = new Map<string, LossLine>();
  const add = (reason: string, loss: LossLine['loss'], duration: number, count = 1) => {
    if (duration <= 0) return;
    const line = lines.get(reason) ?? { reason, loss, duration: 0, count: 0 };
    line.duration += duration;
    line.count += count;
    lines.set(reason, line);
  };
  let inStops = 0;
  for (const s of stops) {
    const duration = Math.min(s.end, f.to) - Math.max(s.start, f.from);
    inStops += Math.max(0, duration);
    if (s.reason) add(s.reason, s.reason.split('/')[0] as BigLoss, duration);
    else add('unqualified', 'unqualified', duration);
  }
  // Small stops: those between two runs (production time), and short delays that are not (at a batch's start).
  add('small-stops', 'small-stops', f.microStops.duration + Math.max(0, f.time.ADET - inStops), f.microStops.count);
  add('setup-adjustments', 'setup-adjustments', f.time.AUST);
  add('production-rejects/batch-rejected', 'production-rejects', rejectedRuntime, f.batches.rejected);
  return [...lines.values()].sort((a, b) => b.duration - a.duration || a.reason.localeCompare(b.reason));
}
