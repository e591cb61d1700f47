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
export { BaseRecorder } from './recorder/base-recorder.js';
export { FunctionOutputsRecorder } from './recorder/function-outputs-recorder.js';
export { FunctionInputsRecorder } from './recorder/function-inputs-recorder.js';
export { MethodOutputsRecorder } from './recorder/method-outputs-recorder.js';
export { MethodInputsRecorder } from './recorder/method-inputs-recorder.js';
export { RecorderManager, type RecorderManagerOptions, type RecorderPhase, type RecorderSpec, type RecorderType } from './recorder/recorder-manager.js';
export type { FunctionRecorderOptions, MethodRecorderOptions, RecorderOptions } from './recorder/recorder-options.js';
export { getRecorder } from './recorder/process-recorders.js';
export {
  openStore,
  Store,
  type CopyReport,
  type OpenStoreOptions,
  type Progress,
  type RankInfo,
  type RankVerdict,
  type StepInfo,
  type StoreInfo,
  type VerifyReport,
} from './store/open-store.js';
export type { RunRecord } from './store/runs.js';

// A manager given a `store` option needs the store's link; the agent loads it only when its config has a store.
provideStoreLink(StoreLink);
