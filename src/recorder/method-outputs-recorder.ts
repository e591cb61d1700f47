/**
 * Records the outputs of a method (MMRazor's MethodOutputsRecorder), patched on the class
 * so that every instance records while the recorder is active. Like MMRazor it checks its
 * target when constructed (a target the agent instruments when its module loads is
 * checked then instead), and resolves it again when activated.
 */
import { BaseRecorder } from './base-recorder.js';
import type { MethodRecorderOptions } from './recorder-options.js';

export class MethodOutputsRecorder extends BaseRecorder {
  /** The target as given: `<module>#<Class>.<method>`. */
  readonly methodPath: string;

  constructor(options: MethodRecorderOptions) {
    super('MethodOutputsRecorder', options, 'methodPath', false);
    this.methodPath = this.target.raw;
  }

  get method_path(): string {
    return this.methodPath;
  }
}
