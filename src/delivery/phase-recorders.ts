/**
 * What a manager asks of the recorders that run with its phases (../recorder/'s
 * RecorderManager implements it): types only, so the delivery core never loads a recorder.
 */

/** A recorder as a store keeps it: its records of a record phase are written with the step, and a replay gives them back. */
export interface StoredRecorder {
  readonly name: string;
  /** "FunctionOutputs", "FunctionInputs", "MethodOutputs" or "MethodInputs". */
  readonly type: string;
  readonly target: string;
  readonly recorder: {
    /** The records of the phase that is ending, one per call. */
    readonly dataBuffer: readonly unknown[];
    /** A replay's record phase: the records the store holds take the place of its calls'. */
    feed(records: readonly unknown[]): void;
  };
}

/** Recorders that run with a manager's phases. */
export interface PhaseRecorders {
  /** Runs a phase's `fn` with the recorders of `kind` phases active, their records cleared first. */
  phase<T>(kind: 'record' | 'override', fn: () => T): T;
  /** The recorders of record phases, as a store keeps them. */
  stored(): readonly StoredRecorder[];
}
