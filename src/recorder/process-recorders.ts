/**
 * The agent's recorders, for the script's own code: the agent builds a RecorderManager
 * from its config's `recorders` and keeps it on the runtime global, so every copy of the
 * package finds the same one.
 */
import { recorderErrors } from '../errors.js';
import { runtime } from '../runtime.js';
import type { BaseRecorder } from './base-recorder.js';
import type { RecorderManager } from './recorder-manager.js';

/**
 * The recorder the agent's config names `name` (DISTILL_DELIVERY's `recorders`), to read
 * in a loss; ERR_DELIVERY_RECORDER_NOT_FOUND when it names none (the message lists those
 * it names, closest first), or when no agent runs.
 */
export function getRecorder(name: string): BaseRecorder {
  const manager = runtime.recorders as RecorderManager | undefined;
  if (manager === undefined) throw recorderErrors.noAgent(name);
  return manager.getRecorder(name);
}
