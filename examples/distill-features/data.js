// A deterministic synthetic dataset: interleaved spiral arms, one per class, drawn in a
// plane, turned into 8 dimensions by a random rotation, with Gaussian noise on every
// dimension. A large network follows the arms well; a small one trained on few labels
// does not: room for a teacher to help.

/** A small seeded PRNG (mulberry32): the same seed gives the same sequence in [0, 1). */
export function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A standard normal draw from `random` (Box-Muller). */
function normal(random) {
  const u = random() || Number.MIN_VALUE;
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

/** A random orthonormal basis of R^dims (Gram-Schmidt on Gaussian vectors); its first two rows span the plane. */
function rotation(dims, random) {
  const rows = [];
  while (rows.length < dims) {
    const v = Array.from({ length: dims }, () => normal(random));
    for (const r of rows) {
      const dot = r.reduce((s, x, k) => s + x * v[k], 0);
      for (let k = 0; k < dims; k++) v[k] -= dot * r[k];
    }
    const norm = Math.hypot(...v);
    if (norm > 1e-6) rows.push(v.map((x) => x / norm));
  }
  return rows;
}

/**
 * `numClasses` spiral arms, `dims` features per point. Returns { train, test, numClasses, dims };
 * each split is { xs: Float32Array (n * dims), labels: Int32Array (n) }, in random order.
 */
export function spirals({ seed, numClasses = 4, dims = 8, noise = 0.2, trainSize = 2048, testSize = 2048 }) {
  const random = mulberry32(seed * 2654435761 + 1);
  const basis = rotation(dims, random);
  const split = (n) => {
    const xs = new Float32Array(n * dims);
    const labels = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const label = Math.floor(random() * numClasses);
      const t = Math.sqrt(random()); // more points far out, where the arms are long
      const angle = 2 * Math.PI * (t + label / numClasses);
      const plane = [4 * t * Math.cos(angle), 4 * t * Math.sin(angle)];
      for (let k = 0; k < dims; k++) xs[i * dims + k] = plane[0] * basis[0][k] + plane[1] * basis[1][k] + noise * normal(random);
      labels[i] = label;
    }
    return { xs, labels };
  };
  return { train: split(trainSize), test: split(testSize), numClasses, dims };
}
