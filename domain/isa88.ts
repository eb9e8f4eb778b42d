/**
 * The ISA-88 procedural state machine (the example model of the standard): states, commands, which
 * command is valid from which state, and the numeric encoding controllers use (Sepasoft's published one).
 * The same table governs equipment phases and whole batches. Pure: workflow code may import it.
 */

export const STATES = [
  'unknown',
  'idle',
  'running',
  'complete',
  'restarting',
  'resetting',
  'pausing',
  'paused',
  'holding',
  'held',
  'stopping',
  'stopped',
  'aborting',
  'aborted',
] as const;
export type PhaseState = (typeof STATES)[number];

export const COMMANDS = ['none', 'start', 'pause', 'resume', 'hold', 'restart', 'stop', 'reset', 'abort'] as const;
export type PhaseCommand = (typeof COMMANDS)[number];

/** Numeric codes on the wire: state n is STATES[n], command n is COMMANDS[n]. */
export const stateCode = (s: PhaseState): number => STATES.indexOf(s);
export const commandCode = (c: PhaseCommand): number => COMMANDS.indexOf(c);
export const stateOf = (code: number): PhaseState => STATES[code] ?? 'unknown';
export const commandOf = (code: number): PhaseCommand | undefined => COMMANDS[code];

/** For each command: the states it is valid from, and the state it moves to. */
export const COMMAND_TABLE: Record<Exclude<PhaseCommand, 'none'>, { from: readonly PhaseState[]; to: PhaseState }> = {
  start: { from: ['idle'], to: 'running' },
  hold: { from: ['running', 'pausing', 'paused', 'restarting'], to: 'holding' },
  restart: { from: ['held'], to: 'restarting' },
  stop: { from: ['running', 'pausing', 'paused', 'holding', 'held', 'restarting'], to: 'stopping' },
  abort: {
    from: [
      'running',
      'restarting',
      'resetting',
      'pausing',
      'paused',
      'holding',
      'held',
      'stopping',
      'stopped',
      'complete',
    ],
    to: 'aborting',
  },
  reset: { from: ['complete', 'stopped', 'aborted'], to: 'idle' },
  pause: { from: ['running'], to: 'pausing' },
  resume: { from: ['paused'], to: 'running' },
};

/** Transient states move on by themselves once their logic has run. */
export const SETTLES_TO: Partial<Record<PhaseState, PhaseState>> = {
  holding: 'held',
  restarting: 'running',
  stopping: 'stopped',
  aborting: 'aborted',
  pausing: 'paused',
  resetting: 'idle',
};

/** States in which a phase has finished, for good or not. */
export const FINAL_STATES: readonly PhaseState[] = ['complete', 'stopped', 'aborted'];

/** States in which a started phase is still under way (it may be held, but it has not finished). */
export const ACTIVE_STATES: readonly PhaseState[] = [
  'running',
  'restarting',
  'pausing',
  'paused',
  'holding',
  'held',
  'stopping',
  'aborting',
];

/** The state a command moves to from `state`, or undefined if it is not valid there. */
export function afterCommand(state: PhaseState, command: Exclude<PhaseCommand, 'none'>): PhaseState | undefined {
  const row = COMMAND_TABLE[command];
  return row.from.includes(state) ? row.to : undefined;
}
