/**
 * distill-delivery: MMRazor's knowledge-distillation Delivery for Node.js.
 */
export { DeliveryError, type DeliveryErrorCode } from './errors.js';
export { DistillDelivery, type DeliveryOptions, type DeliveryStats } from './distill-delivery.js';
export { FunctionOutputsDelivery, type FunctionOutputsOptions } from './function-outputs-delivery.js';
export { MethodOutputsDelivery, type MethodOutputsOptions } from './method-outputs-delivery.js';
export {
  DistillDeliveryManager,
  type DeliverySpec,
  type DeliveryType,
  type ManagerOptions,
} from './delivery-manager.js';
export { deliveries } from './process-manager.js';
