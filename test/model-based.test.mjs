// Property-based tests (fast-check, fixed seed) of the queue and of record/override
// switching against simple models: random sequences of operations must give exactly the
// outputs, errors and stats the model predicts, and leave the target as it was.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { DeliveryError, DistillDeliveryManager } from 'distill-delivery';
import { DeliveryQueue } from '../dist/delivery/delivery-queue.js';
import { allStats, own } from './helpers.mjs';

const settings = { seed: 4242, numRuns: 300, endOnFailure: true };
const TIMEOUT = 120_000;

// ---------------------------------------------------------------------------------------
// The queue against an array.

const queueOp = fc.oneof(
  { weight: 5, arbitrary: fc.integer().map((value) => ({ op: 'push', value })) },
  { weight: 4, arbitrary: fc.constant({ op: 'shift' }) },
  { weight: 1, arbitrary: fc.constant({ op: 'clear' }) },
);

test('the queue behaves as an array used as a FIFO, for any sequence of push, shift and clear', { timeout: TIMEOUT }, () => {
  fc.assert(fc.property(fc.nat(40), fc.array(queueOp, { maxLength: 200 }), (capacity, ops) => {
    const queue = new DeliveryQueue(capacity);
    const model = [];
    for (const { op, value } of ops) {
      if (op === 'push') {
        queue.push({ value });
        model.push({ value });
      } else if (op === 'shift') {
        if (model.length === 0) continue; // the caller checks size first
        assert.deepEqual(queue.shift(), model.shift());
      } else {
        assert.equal(queue.clear(), model.length);
        model.length = 0;
      }
      assert.equal(queue.size, model.length);
    }
    // Nothing shifted or cleared is still referenced by the buffer (outputs are released).
    assert.equal(queue.items.filter((item) => item !== undefined).length, model.length);
    const rest = [];
    while (queue.size > 0) rest.push(queue.shift());
    assert.deepEqual(rest, model);
  }), settings);
});

// ---------------------------------------------------------------------------------------
// Record/override switching against a model.

const require = createRequire(import.meta.url);
const targetsPath = require.resolve('./fixtures/model-target.cjs');
const target = require(targetsPath);

const op = fc.oneof(
  fc.boolean().map((value) => ({ op: 'overrideData', value })),
  fc.constant({ op: 'enter' }),
  fc.constant({ op: 'exit' }),
  fc.nat(3).map((k) => ({ op: 'run', k })),
  fc.nat(3).map((k) => ({ op: 'recordPhase', k })),
  fc.nat(3).map((k) => ({ op: 'overridePhase', k })),
  fc.nat(3).map((k) => ({ op: 'throwingRecordPhase', k })),
  fc.constant({ op: 'outside' }),
);

/**
 * The model: what each operation returns (outputs, or the error code it throws) and the
 * counts, from a plain description of MMRazor's semantics plus the phases' steps.
 */
class Model {
  constructor(max) {
    this.max = max;
    this.override = false;
    this.entered = 0;
    this.queue = []; // outputs recorded outside phases
    this.steps = []; // per record phase not yet replayed: its outputs
    this.counter = 0; // what the original returns next, minus one
    this.stats = { recorded: 0, replayed: 0, pending: 0, discarded: 0 };
  }

  original() {
    return ++this.counter;
  }

  /** One call in a run() or while entered (mode from overrideData), into the plain queue. */
  plainCall() {
    if (this.override) {
      if (this.queue.length === 0) throw 'ERR_DELIVERY_QUEUE_EMPTY';
      this.stats.pending--;
      this.stats.replayed++;
      return this.queue.shift();
    }
    if (this.stats.pending >= this.max) throw 'ERR_DELIVERY_QUEUE_FULL';
    const output = this.original();
    this.queue.push(output);
    this.stats.pending++;
    this.stats.recorded++;
    return output;
  }

  apply({ op, value, k }) {
    switch (op) {
      case 'overrideData':
        this.override = value;
        return undefined;
      case 'enter':
        this.entered++;
        return undefined;
      case 'exit':
        if (this.entered > 0) this.entered--;
        return undefined;
      case 'outside':
        return this.entered > 0 ? [this.plainCall()] : [this.original()];
      case 'run': {
        const out = [];
        for (let i = 0; i < k; i++) out.push(this.plainCall());
        return out;
      }
      case 'recordPhase':
      case 'throwingRecordPhase': {
        const step = [];
        this.steps.push(step);
        const out = [];
        try {
          for (let i = 0; i < k; i++) {
            if (this.stats.pending >= this.max) throw 'ERR_DELIVERY_QUEUE_FULL';
            const output = this.original();
            step.push(output);
            this.stats.pending++;
            this.stats.recorded++;
            out.push(output);
          }
          if (op === 'throwingRecordPhase') throw 'teacher failed';
        } catch (error) {
          // A failed teacher step is dropped: no student step will replay it.
          this.steps.splice(this.steps.indexOf(step), 1);
          this.stats.pending -= step.length;
          this.stats.discarded += step.length;
          throw error;
        }
        return out;
      }
      case 'overridePhase': {
        const step = this.steps.shift();
        const out = [];
        try {
          for (let i = 0; i < k; i++) {
            if (step === undefined || step.length === 0) throw 'ERR_DELIVERY_QUEUE_EMPTY';
            this.stats.pending--;
            this.stats.replayed++;
            out.push(step.shift());
          }
        } finally {
          if (step !== undefined) {
            this.stats.pending -= step.length;
            this.stats.discarded += step.length;
          }
        }
        return out;
      }
    }
    throw new Error(`unknown op ${op}`);
  }
}

/** The same operation on the real manager, whose only delivery targets target.nextId. */
function applyReal(manager, { op, value, k }) {
  const calls = (n) => Array.from({ length: n }, () => target.nextId());
  switch (op) {
    case 'overrideData':
      manager.deliveries.d.overrideData = value;
      return undefined;
    case 'enter':
      manager.deliveries.d.enter();
      return undefined;
    case 'exit':
      manager.deliveries.d.exit();
      return undefined;
    case 'outside':
      return calls(1);
    case 'run':
      return manager.deliveries.d.run(() => calls(k));
    case 'recordPhase':
      return manager.recordPhase(() => calls(k));
    case 'throwingRecordPhase':
      return manager.recordPhase(() => {
        calls(k);
        throw 'teacher failed';
      });
    case 'overridePhase':
      return manager.overridePhase(() => calls(k));
  }
  throw new Error(`unknown op ${op}`);
}

/** What an operation gave: its value, or the code (or thrown string) of its error. */
function outcome(fn) {
  try {
    return { value: fn() };
  } catch (error) {
    if (typeof error === 'string') return { error };
    if (!(error instanceof DeliveryError)) throw error;
    return { error: error.code };
  }
}

test('a delivery switched at random between record, override, run(), enter()/exit() and phases gives what the model predicts', { timeout: TIMEOUT }, () => {
  const descriptor = own(target, 'nextId');
  const originalEmit = process.emitWarning;
  process.emitWarning = () => {}; // the leftover warnings are checked in delivery-phases.test.mjs
  try {
    fc.assert(fc.property(fc.integer({ min: 1, max: 4 }), fc.array(op, { maxLength: 40 }), (max, ops) => {
      target.reset();
      const manager = new DistillDeliveryManager({ d: { type: 'FunctionOutputs', funcPath: `${targetsPath}#nextId`, maxKeepData: max } });
      const model = new Model(max);
      try {
        for (const [i, operation] of ops.entries()) {
          const expected = outcome(() => model.apply(operation));
          const actual = outcome(() => applyReal(manager, operation));
          assert.deepEqual(actual, expected, `operation ${i}: ${JSON.stringify(operation)}`);
          assert.deepEqual(allStats(manager.stats().d), model.stats, `stats after operation ${i}: ${JSON.stringify(operation)}`);
          assert.equal(manager.deliveries.d.size, model.stats.pending);
        }
      } finally {
        while (model.entered-- > 0) manager.deliveries.d.exit();
      }
      assert.deepEqual(own(target, 'nextId'), descriptor, 'the target is restored once nothing is active');
      assert.equal(target.nextId(), model.counter + 1, 'calls after the sequence pass through');
    }), settings);
  } finally {
    process.emitWarning = originalEmit;
  }
});
