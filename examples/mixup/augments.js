// A stock batch mixup, as MMClassification's Augments(BatchMixup): each call draws a
// random mixing ratio and a random pairing of the batch, so two calls on the same batch
// give different inputs. Nothing here knows about distillation.

/** Gamma(k, 1) for k >= 1 (Marsaglia and Tsang), from Math.random. */
function gamma(k) {
  const d = k - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x, v;
    do {
      const u1 = Math.random() || Number.MIN_VALUE;
      const u2 = Math.random();
      x = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = Math.random();
    if (u < 1 - 0.0331 * x ** 4 || Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
  }
}

/** Beta(alpha, alpha). */
export function beta(alpha) {
  const a = gamma(alpha);
  const b = gamma(alpha);
  return a / (a + b);
}

export class Augments {
  constructor({ alpha = 1, numClasses, prob = 1 }) {
    this.alpha = alpha;
    this.numClasses = numClasses;
    this.prob = prob;
  }

  /** Mixes a batch: imgs is an array of Float32Array, labels an array of class indices. */
  call(imgs, labels) {
    const oneHot = labels.map((label) => {
      const row = new Float32Array(this.numClasses);
      row[label] = 1;
      return row;
    });
    if (Math.random() >= this.prob) return [imgs, oneHot];
    const lam = beta(this.alpha);
    const order = imgs.map((_, i) => i);
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    const mixedImgs = imgs.map((img, i) => img.map((v, k) => lam * v + (1 - lam) * imgs[order[i]][k]));
    const mixedLabels = oneHot.map((row, i) => row.map((v, k) => lam * v + (1 - lam) * oneHot[order[i]][k]));
    return [mixedImgs, mixedLabels];
  }
}
