/**
 * distill-delivery: MMRazor's knowledge-distillation Delivery for Node.js.
 */
import { provideStoreLink } from './delivery/delivery-manager.js';
import { StoreLink } from './link/store-link.js';

export { DeliveryError, type DeliveryErrorCode } from './errors.js';
export { DistillDelivery, type CheckMode, type DeliveryOptions, type DeliveryStats, type RandomMode } from './delivery/distill-delivery.js';
export { FunctionOutputsDelivery, type FunctionOutputsOptions } from './delivery/function-outputs-delivery.js';
export { MethodOutputsDelivery, type MethodOutputsOptions } from './delivery/method-outputs-delivery.js';
export {
  DistillDeliveryManager,
  type DeliverySpec,
  type DeliveryType,
  type ManagerOptions,
} from './delivery/delivery-manager.js';
export { deliveries } from './delivery/process-manager.js';

// A manager given a `store` option needs the store's link; the agent loads it only when its config has a store.
provideStoreLink(StoreLink);
