/**
 * What the store's encoding writes, and how long it takes, for the values issue 18 named
 * (points 5 and 7): a small Buffer from Node's pool, a 4-byte view of a 100 MB buffer, a
 * sparse array of length 2^27 with three elements; and the deep copy's time for a dense
 * array of 1e6 numbers and a small output, which walk their arrays by their own keys.
 * Prints JSON: bytes, and CPU milliseconds (medians of BENCH_ROUNDS, default 9).
 *
 *   npm run build && node bench/values.js
 */
import { encodeOutput, decodeOutput } from '../dist/values/encode.js';
import { walkValue } from '../dist/values/walk.js';

const rounds = Number(process.env.BENCH_ROUNDS ?? 9);

/** The median CPU time of `fn` over the rounds, in ms (each round runs it `times` times and divides). */
function cpu(fn, times = 1) {
  const samples = [];
  for (let r = 0; r < rounds; r++) {
    const start = process.cpuUsage();
    for (let i = 0; i < times; i++) fn();
    const used = process.cpuUsage(start);
    samples.push((used.user + used.system) / 1000 / times);
  }
  samples.sort((a, b) => a - b);
  return Number(samples[samples.length >> 1].toFixed(4));
}

const encode = (value) => encodeOutput(value, 0, 'bench');
const copy = (value) => walkValue(value, { deep: true, who: 'bench', purpose: 'copy', onTensor: (t) => t });

const pooled = Buffer.from('hi');
const big = new ArrayBuffer(100 * 2 ** 20);
const window = new Uint8Array(big, 50 * 2 ** 20, 4);
const sparse = [];
sparse[3] = 'a';
sparse[2 ** 20] = { b: 1 };
sparse[2 ** 27 - 1] = 'c';
const dense = Array.from({ length: 1e6 }, (_, i) => i);
const small = { mixed: new Float32Array(32), lam: 0.5, pairs: Array.from({ length: 32 }, (_, i) => i) };

const bytes = (value) => encode(value).byteLength;
const sparseBytes = encode(sparse);
console.log(
  JSON.stringify({
    node: process.version,
    bytes: { 'Buffer.from("hi")': bytes(pooled), '4-byte view of 100 MB': bytes(window), 'sparse 2^27, 3 elements': bytes(sparse) },
    ms: {
      'encode sparse 2^27': cpu(() => encode(sparse)),
      'decode sparse 2^27': cpu(() => decodeOutput(sparseBytes, 'bench')),
      'encode 4-byte view of 100 MB': cpu(() => encode(window)),
      'copy dense 1e6': cpu(() => copy(dense)),
      'copy small (per copy)': cpu(() => copy(small), 10000),
      'encode small (per encode)': cpu(() => encode(small), 10000),
    },
  }),
);
