// Another module that uses the same function: it must not be affected.
import { anchorInsideFlags } from './utils.js';

export function otherUse(anchors) {
  return anchorInsideFlags(anchors);
}
