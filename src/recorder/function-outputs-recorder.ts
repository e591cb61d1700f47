/**
 * Records the outputs of a function (MMRazor's FunctionOutputsRecorder): one record per
 * call, what the call returned (an async function's promise, a generator function's
 * generator), or the output a delivery replayed in its place. Like MMRazor it resolves
 * its target when first entered, not when constructed.
 */
import { BaseRecorder } from './base-recorder.js';
import type { FunctionRecorderOptions } from './recorder-options.js';

export class FunctionOutputsRecorder extends BaseRecorder {
  /** The target as given: `<module>#<path>`. */
  readonly funcPath: string;

  constructor(options: FunctionRecorderOptions) {
    super('FunctionOutputsRecorder', options, 'funcPath', false);
    this.funcPath = this.target.raw;
  }

  get func_path(): string {
    return this.funcPath;
  }
}
