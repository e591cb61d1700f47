// Uses the function (as MMDetection's mmdet/models/dense_heads/anchor_head.py does).
import { anchorInsideFlags } from './utils.js';

export class AnchorHead {
  assign(anchors) {
    return anchorInsideFlags(anchors);
  }
}
