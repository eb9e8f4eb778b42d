/**
 * One simulated equipment phase: the whole ISA-88 state table, a latched command id (a second Start with
 * the same id answers Good and starts nothing), parameters downloaded in one call, reports on completion,
 * counters of every command it executed, and faults injected on request.
 */
import { COMMAND_TABLE, SETTLES_TO, afterCommand, type PhaseCommand, type PhaseState } from '../../domain/isa88';

/**
 * How many ticks a phase runs before a fault due on its run holds it (or fewer, if its work ends sooner): at the
 * simulator's 50 ms ticks, 200 ms of Running — a state a client sampling every 50 ms sees, as a real fault part-way
 * through a phase leaves it running for a while first.
 */
const TICKS_BEFORE_FAULT = 4;

/** What a phase does while Running: advance by `dt` process seconds; true once its work is done. */
export interface PhaseLogic {
  begin(parameters: Record<string, number>): void;
  advance(dt: number, parameters: Record<string, number>): boolean;
  reports(parameters: Record<string, number>): Record<string, number>;
}

/** Faults a test (or a demo) may inject. */
export interface PhaseFaults {
  /** The next run goes to Held part-way, as a controller does on a fault. */
  holdOnce?: boolean;
  /** Every n-th run (counting Starts that started something) goes to Held part-way. */
  holdEvery?: number;
  /** Work advances this many times slower. */
  slowdown?: number;
  /** Reports are off by this much (added to each). */
  reportOffset?: number;
  /** Commands are refused (BadInvalidState) while set. */
  refuseCommands?: boolean;
}

export type CommandOutcome = 'good' | 'invalid-state' | 'invalid-argument';

export class SimulatedPhase {
  state: PhaseState = 'idle';
  commandId = '';
  parameters: Record<string, number> = {};
  reports: Record<string, number> = {};
  /** When the state last changed (the source timestamp clients see). */
  changedAt = new Date();
  transitions = 0;
  /** Every command executed (not refused), by command; `start` counts only Starts that started something. */
  readonly executed: Record<Exclude<PhaseCommand, 'none'>, number> = {
    start: 0,
    pause: 0,
    resume: 0,
    hold: 0,
    restart: 0,
    stop: 0,
    reset: 0,
    abort: 0,
  };
  faults: PhaseFaults = {};
  /** Ticks of Running left before a due fault holds the phase (Infinity: none due); see TICKS_BEFORE_FAULT. */
  private ticksToHold = Infinity;

  constructor(
    readonly unit: string,
    readonly name: string,
    readonly parameterNames: readonly string[],
    private readonly logic: PhaseLogic,
  ) {}

  /** Parameters for the next run, all at once; only while Idle. */
  download(parameters: unknown): CommandOutcome {
    if (this.state !== 'idle') return 'invalid-state';
    if (typeof parameters !== 'object' || parameters === null || Array.isArray(parameters)) return 'invalid-argument';
    const entries = Object.entries(parameters);
    if (entries.some(([k, v]) => !this.parameterNames.includes(k) || typeof v !== 'number' || !Number.isFinite(v)))
      return 'invalid-argument';
    this.parameters = Object.fromEntries(entries);
    return 'good';
  }

  command(command: Exclude<PhaseCommand, 'none'>, commandId: string): CommandOutcome {
    if (!(command in COMMAND_TABLE)) return 'invalid-argument';
    if (this.faults.refuseCommands) return 'invalid-state';
    // The latch: a Start the phase has already taken is acknowledged, never run again.
    if (command === 'start' && commandId !== '' && commandId === this.commandId) return 'good';
    if (command === 'start' && commandId === '') return 'invalid-argument';
    const next = afterCommand(this.state, command);
    if (!next) return 'invalid-state';
    if (command === 'start') {
      this.commandId = commandId;
      this.reports = {};
      this.logic.begin(this.parameters);
      const every = this.faults.holdEvery;
      const nth = this.executed.start + 1;
      this.ticksToHold = this.faults.holdOnce || (every && nth % every === 0) ? TICKS_BEFORE_FAULT : Infinity;
    }
    this.executed[command]++;
    this.move(next);
    return 'good';
  }

  /** Advances the simulation by `dt` process seconds. */
  tick(dt: number): void {
    const settled = SETTLES_TO[this.state];
    if (settled) {
      if (this.state === 'stopping' || this.state === 'aborting') this.reports = this.logic.reports(this.parameters);
      this.move(settled);
      return;
    }
    if (this.state !== 'running') return;
    const done = this.logic.advance(dt / (this.faults.slowdown ?? 1), this.parameters);
    if (--this.ticksToHold <= 0 || (done && this.ticksToHold !== Infinity)) {
      this.faults.holdOnce = false;
      this.ticksToHold = Infinity;
      this.move('holding'); // a fault: the controller holds the phase
      return;
    }
    if (done) {
      const offset = this.faults.reportOffset ?? 0;
      this.reports = Object.fromEntries(
        Object.entries(this.logic.reports(this.parameters)).map(([k, v]) => [k, round(v + offset)]),
      );
      this.move('complete');
    }
  }

  /**
   * The controller loses power and comes back: Idle, with no command latched and no parameters, as after a
   * restart of a controller (or of the whole zero-setup process, simulator included) mid-phase.
   */
  powerCycle(): void {
    this.commandId = '';
    this.parameters = {};
    this.reports = {};
    this.ticksToHold = Infinity;
    this.move('idle');
  }

  private move(state: PhaseState): void {
    this.state = state;
    this.changedAt = new Date();
    this.transitions++;
  }
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
