/**
 * Delivers the outputs of a function (MMRazor's FunctionOutputsDelivery). Like MMRazor
 * it resolves its target when first entered, not when constructed.
 */
import { DistillDelivery, normalizeOptions, type DeliveryOptions } from './distill-delivery.js';
import type { Site } from '../sites/site.js';
import { runtime } from '../runtime.js';
import { resolvePropertyTarget } from '../sites/resolve-target.js';

export interface FunctionOutputsOptions extends DeliveryOptions {
  /** `<module>#<path>`: the function, named in the module where it is used. */
  funcPath: string;
}

export class FunctionOutputsDelivery extends DistillDelivery {
  /** The target as given: `<module>#<path>`. */
  readonly funcPath: string;

  constructor(options: FunctionOutputsOptions) {
    super(normalizeOptions('FunctionOutputsDelivery', options, 'funcPath'));
    this.funcPath = this.target.raw;
  }

  protected resolveSite(): Site {
    const module = this.resolvedModule();
    const planned = runtime.bindingSites.get(`${module.url}#${this.target.members.join('.')}`) as Site | undefined;
    return planned ?? resolvePropertyTarget(this.who, this.target, module, 'function');
  }
}
