// Defines the function (mmdet/core/anchor/utils.py in the seed).
let calls = 0;
export function anchorInsideFlags(anchors) {
  calls++;
  return anchors.map(() => Math.random() < 0.5);
}
export function callCount() {
  return calls;
}
