/**
 * Delivers the outputs of a method (MMRazor's MethodOutputsDelivery), patched on the
 * class so that every instance and every importer sees it. Like MMRazor it resolves its
 * target when constructed, so a wrong path fails at once (a target the agent will
 * instrument when its module loads is checked then instead, so that constructing the
 * delivery never changes the order modules load in). It keeps nothing of what it found:
 * the target is resolved again when the delivery is activated.
 */
import { DistillDelivery, normalizeOptions, type DeliveryOptions } from './distill-delivery.js';
import type { Site } from '../sites/site.js';
import { errors } from '../errors.js';
import { runtime } from '../runtime.js';
import { resolvePropertyTarget, type ResolvedModule } from '../sites/resolve-target.js';

export interface MethodOutputsOptions extends DeliveryOptions {
  /** `<module>#<Class>.<method>` (or `<Class>.prototype.<method>`). */
  methodPath: string;
}

export class MethodOutputsDelivery extends DistillDelivery {
  /** The target as given: `<module>#<Class>.<method>`. */
  readonly methodPath: string;

  constructor(options: MethodOutputsOptions) {
    super(normalizeOptions('MethodOutputsDelivery', options, 'methodPath'));
    this.methodPath = this.target.raw;
    if (this.target.members.length < 2) throw errors.methodPathTooShort(this.methodPath);
    const module = this.resolvedModule();
    if (this.planned(module) === undefined && !runtime.plannedModules.has(module.url)) resolvePropertyTarget(this.who, this.target, module, 'method');
  }

  private planned(module: ResolvedModule): Site | undefined {
    return runtime.bindingSites.get(`${module.url}#${this.target.members.join('.')}`) as Site | undefined;
  }

  protected resolveSite(): Site {
    const module = this.resolvedModule();
    return this.planned(module) ?? resolvePropertyTarget(this.who, this.target, module, 'method');
  }
}
