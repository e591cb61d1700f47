/**
 * Records the arguments of a function (MMRazor's FunctionInputsRecorder): one record per
 * call, the array of the arguments as the caller passed them (`[...arguments]`), taken
 * before the call runs. JavaScript has no keyword arguments: a parameter left out is not
 * in the array (its default is not recorded), and rest parameters are there one by one,
 * as passed. Like MMRazor it resolves its target when first entered.
 */
import { BaseRecorder } from './base-recorder.js';
import type { FunctionRecorderOptions } from './recorder-options.js';

export class FunctionInputsRecorder extends BaseRecorder {
  /** The target as given: `<module>#<path>`. */
  readonly funcPath: string;

  constructor(options: FunctionRecorderOptions) {
    super('FunctionInputsRecorder', options, 'funcPath', true);
    this.funcPath = this.target.raw;
  }

  get func_path(): string {
    return this.funcPath;
  }
}
