/**
 * The agent's phases: a configured phase function runs as one record or override phase
 * of the process-wide manager, named by its path in messages. The runs are counted for
 * the report and strict mode, and NODE_DEBUG=delivery logs each phase's start and end
 * with its counts (per phase, never per call); listeners learn of each phase's end.
 */
import type { DistillDeliveryManager, PhaseNotes } from '../delivery/delivery-manager.js';
import type { PhaseRunner } from '../sites/site.js';
import { builtin, runtime, type Step } from '../runtime.js';

const debug = builtin('node:util').debuglog('delivery');

export type PhaseKind = 'record' | 'override';

export class Phases {
  /** Phases run so far, by kind. */
  readonly runs: Record<PhaseKind, number> = { record: 0, override: 0 };
  /** Called as each phase ends (the report file, the count of calls outside phases). */
  readonly #ended: (() => void)[] = [];
  constructor(
    /** The configured phase functions, by their paths. */
    readonly names: Readonly<Record<PhaseKind, readonly string[]>>,
    private readonly manager: () => DistillDeliveryManager,
  ) {
    runtime.phases = names;
  }

  /** Whether the config has any phase at all. */
  get configured(): boolean {
    return this.names.record.length > 0 || this.names.override.length > 0;
  }

  /** Calls `listener` as each phase ends, after its steps closed. */
  onEnd(listener: () => void): void {
    this.#ended.push(listener);
  }

  /** What the site of phase function `label` runs instead of calling it. */
  runner(kind: PhaseKind, label: string): PhaseRunner {
    return (original, thisArg, args) => {
      const number = ++this.runs[kind];
      const notes: PhaseNotes =
        debug.enabled || this.#ended.length > 0
          ? {
              label,
              ended: (steps, failed) => {
                if (debug.enabled) this.ended(kind, label, number, steps, failed);
                for (const listener of this.#ended) listener();
              },
            }
          : { label };
      if (debug.enabled) debug('%s phase %s run %d starts', kind, label, number);
      const run = (): unknown => Reflect.apply(original, thisArg, args);
      return kind === 'override' ? this.manager().overridePhase(run, notes) : this.manager().recordPhase(run, notes);
    };
  }

  private ended(kind: PhaseKind, label: string, number: number, steps: readonly Step[], failed: boolean): void {
    const names = Object.keys(this.manager().deliveries);
    const counts = steps.map((step, i) =>
      kind === 'record'
        ? `${names[i]} recorded ${step.recorded} (step ${step.number})`
        : step.missing
          ? `${names[i]} had no record phase to replay`
          : `${names[i]} replayed ${step.replayed} of ${step.recorded} (step ${step.number})`,
    );
    debug('%s phase %s run %d ends%s: %s', kind, label, number, failed ? ' (threw)' : '', counts.length > 0 ? counts.join(', ') : 'no deliveries');
  }
}
