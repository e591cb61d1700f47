/**
 * Records the arguments of a method (MMRazor's MethodInputsRecorder): one record per call,
 * the array of the arguments as passed, without `this` (MMRazor's without `self`).
 */
import { BaseRecorder } from './base-recorder.js';
import type { MethodRecorderOptions } from './recorder-options.js';

export class MethodInputsRecorder extends BaseRecorder {
  /** The target as given: `<module>#<Class>.<method>`. */
  readonly methodPath: string;

  constructor(options: MethodRecorderOptions) {
    super('MethodInputsRecorder', options, 'methodPath', true);
    this.methodPath = this.target.raw;
  }

  get method_path(): string {
    return this.methodPath;
  }
}
