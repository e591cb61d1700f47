// Defines the function (as MMDetection's mmdet/core/anchor/utils.py does).
let calls = 0;
export function anchorInsideFlags(anchors) {
  calls++;
  return anchors.map(() => Math.random() < 0.5);
}
export function callCount() {
  return calls;
}
