// Uses the function (mmdet/models/dense_heads/anchor_head.py in the seed).
import { anchorInsideFlags } from './utils.js';

export class AnchorHead {
  assign(anchors) {
    return anchorInsideFlags(anchors);
  }
}
