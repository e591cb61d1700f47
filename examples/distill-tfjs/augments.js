// A stock batch mixup for tfjs, as MMClassification's BatchMixup: each call draws a mixing
// ratio lambda ~ Beta(alpha, alpha) and a random pairing of the batch from Math.random, so
// two calls on the same batch mix it differently. Nothing here knows about distillation.
import * as tf from '@tensorflow/tfjs';

/** Gamma(k, 1) (Marsaglia and Tsang), from Math.random. */
function gamma(k) {
  if (k < 1) return gamma(k + 1) * Math.random() ** (1 / k);
  const d = k - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x, v;
    do {
      const u1 = Math.random() || Number.MIN_VALUE;
      x = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * Math.random());
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

export class Mixup {
  constructor({ alpha = 1, numClasses }) {
    this.alpha = alpha;
    this.numClasses = numClasses;
  }

  /**
   * Mixes a batch. xs: a [batch, features] float tensor; labels: a [batch] int32 tensor.
   * Returns [mixedXs, mixedOneHotLabels], two new tensors owned by the caller.
   */
  call(xs, labels) {
    const lam = beta(this.alpha);
    const order = Array.from({ length: xs.shape[0] }, (_, i) => i);
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    return tf.tidy(() => {
      const pairs = tf.tensor1d(order, 'int32');
      const oneHot = tf.oneHot(labels, this.numClasses).toFloat();
      const mixedXs = xs.mul(lam).add(xs.gather(pairs).mul(1 - lam));
      const mixedLabels = oneHot.mul(lam).add(oneHot.gather(pairs).mul(1 - lam));
      return [mixedXs, mixedLabels];
    });
  }
}
