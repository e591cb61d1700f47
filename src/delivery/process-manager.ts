/**
 * The process-wide manager, shared through the runtime global so that every copy of
 * the package sees the same one. The agent builds it from DISTILL_DELIVERY before the
 * app loads; without the agent it is empty.
 */
import { DistillDeliveryManager } from './delivery-manager.js';
import { runtime } from '../runtime.js';

if (runtime.manager === undefined) runtime.manager = new DistillDeliveryManager();

/** The deliveries configured in DISTILL_DELIVERY (empty without the agent). */
export const deliveries = runtime.manager as DistillDeliveryManager;
