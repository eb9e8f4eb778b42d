/**
 * A simulated weighing terminal: a load cell whose indication settles towards the mass on the platform, with
 * noise while it moves, a stability flag (the terminal's "in motion" indicator, the reverse of it), tare and
 * zero, overload and underload, and a target a dispensing system sends it (the terminal's tolerance bar).
 *
 * The operator's hands are simulated too: `place` puts mass on the platform (a container, material), and with
 * `autoPour` a simulated operator, once the scale is tared with a target set, pours until the net weight
 * reaches the target — so the demo and whole-batch tests dispense without a person. Real time, not process
 * time: a weighing settles in a second whatever the plant's time scale.
 */

export type ScaleStatus = 'ok' | 'overload' | 'underload' | 'error';

export interface ScaleSpec {
  /** Maximum capacity, in kg. */
  capacity: number;
  /** Readability d (the scale interval), in kg. */
  readability: number;
}

/** How long the indication must hold still within one interval before the terminal calls it stable. */
const STABLE_AFTER_MS = 300;
/** Time constant of the indication's approach to the load. */
const SETTLE_TAU_MS = 80;
/** The simulated operator pours this fraction of the target per second (slowing near the end). */
const POUR_RATE_PER_S = 4;

export class SimulatedScale {
  /** The true mass on the platform, kg. */
  load = 0;
  /** The terminal's tare, kg (of gross). */
  tare = 0;
  /** The target a dispensing system set (0: none). */
  target = 0;
  /** Whether a simulated operator pours to the target once the scale is tared. */
  autoPour = true;
  /** A fault: the platform vibrates (a draught, a knock): the reading never settles. */
  vibrating = false;
  /** A fault: the load cell has failed; readings are Bad. */
  failed = false;
  private indicated = 0;
  private zeroOffset = 0;
  private stillSince = 0;
  private lastShown = 0;
  private pouring = false;
  /** Set at the time of the last reading computed: the reading's source timestamp. */
  readAt = new Date();

  constructor(readonly spec: ScaleSpec) {}

  /**
   * A dispensing system sets the target (0 clears it). With `autoPour`, a new target (or none) is the simulated
   * operator's cue to take what is on the platform off, and for a new target to put an empty container on.
   */
  setTarget(target: number, now = Date.now()): void {
    if (this.autoPour && target !== this.target && !this.pouring) {
      // A dispensing ends (0) or another begins: the simulated operator clears the platform, and for a new one puts
      // an empty container on it (a twentieth of the capacity), to be tared.
      this.load = target > 0 ? this.round(this.spec.capacity / 20) : 0;
      this.tare = 0;
      this.stillSince = now;
    }
    this.target = target;
  }

  /** Puts mass on the platform (negative takes it off). */
  place(kg: number, now = Date.now()): void {
    this.load = Math.max(0, this.load + kg);
    this.stillSince = now; // a load put down sets the platform moving
  }

  /** Advances the indication by `ms` of real time. */
  tick(ms: number, now = Date.now()): void {
    if (this.pouring) {
      const remaining = this.target - (this.load - this.tareLoad());
      if (remaining <= this.spec.readability / 2) this.pouring = false;
      else this.place(Math.min(remaining, Math.max(this.target * POUR_RATE_PER_S * (ms / 1000), remaining / 4)));
    }
    this.indicated = this.load + (this.indicated - this.load) * Math.exp(-ms / SETTLE_TAU_MS);
    const shown = this.round(this.indicated + this.noise());
    if (shown !== this.lastShown || this.pouring) this.stillSince = now;
    this.lastShown = shown;
  }

  /** What the terminal shows now. */
  reading(now = Date.now()): { gross: number; tare: number; net: number; stable: boolean; status: ScaleStatus } {
    this.readAt = new Date(now);
    const gross = this.round(this.lastShown - this.zeroOffset);
    const status: ScaleStatus = this.failed
      ? 'error'
      : gross > this.spec.capacity + 9 * this.spec.readability
        ? 'overload'
        : gross < -20 * this.spec.readability
          ? 'underload'
          : 'ok';
    const stable = !this.failed && !this.vibrating && !this.pouring && now - this.stillSince >= STABLE_AFTER_MS;
    return { gross, tare: this.round(this.tare), net: this.round(gross - this.tare), stable, status };
  }

  /** Tares: the present gross becomes the tare. A terminal refuses it in motion or out of range. */
  tareNow(now = Date.now()): 'good' | 'in-motion' | 'out-of-range' {
    const r = this.reading(now);
    if (r.status !== 'ok') return 'out-of-range';
    if (!r.stable) return 'in-motion';
    this.tare = r.gross;
    if (this.autoPour && this.target > 0) this.pouring = true;
    return 'good';
  }

  /** Zeroes the empty platform (within the zero range, ±2 % of capacity); clears the tare. */
  zeroNow(now = Date.now()): 'good' | 'in-motion' | 'out-of-range' {
    const r = this.reading(now);
    if (!r.stable) return 'in-motion';
    if (Math.abs(r.gross) > 0.02 * this.spec.capacity) return 'out-of-range';
    this.zeroOffset += r.gross;
    this.tare = 0;
    return 'good';
  }

  /** The mass that was on the platform when it was tared (the container). */
  private tareLoad(): number {
    return this.tare + this.zeroOffset;
  }

  private noise(): number {
    const d = this.spec.readability;
    if (this.failed) return 0;
    if (this.vibrating) return (Math.random() - 0.5) * 20 * d;
    // A settling indication wanders by a few intervals; a settled one holds (a terminal filters the last digit).
    return Math.abs(this.indicated - this.load) > d / 4 ? (Math.random() - 0.5) * 4 * d : 0;
  }

  private round(kg: number): number {
    const d = this.spec.readability;
    return Number((Math.round(kg / d) * d).toFixed(Math.max(0, -Math.floor(Math.log10(d)))));
  }
}
