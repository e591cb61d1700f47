// A distillation loop that knows nothing about delivery: the teacher and the student
// each mix the batch themselves. Run it as is and their inputs differ; run it with
// DISTILL_DELIVERY=deliveries.json node --import ../../loader.mjs train.js
// and the student gets exactly the teacher's mixed batch.
import { Augments } from './augments.js';

const augments = new Augments({ alpha: 1, numClasses: 10, prob: 1 });

/**
 * A deterministic batch: 8 images of 3x8x8, labels 0..9. Eight, so that two independent
 * mixes of it almost never coincide (both pairings the identity: 1 in 40320² per step).
 */
function batch(step) {
  const imgs = Array.from({ length: 8 }, (_, i) => Float32Array.from({ length: 3 * 8 * 8 }, (_, k) => Math.sin(step * 31 + i * 7 + k)));
  const labels = Array.from({ length: 8 }, (_, i) => (step + i * 3) % 10);
  return { imgs, labels };
}

/** A checksum of what a model was fed. */
function digest(imgs, labels) {
  let h = 0;
  for (const a of [...imgs, ...labels]) for (const v of a) h = (Math.imul(h, 31) + Math.round(v * 1e6)) | 0;
  return h >>> 0;
}

function teacherStep({ imgs, labels }) {
  const [mixedImgs, mixedLabels] = augments.call(imgs, labels);
  return digest(mixedImgs, mixedLabels);
}

function studentStep({ imgs, labels }) {
  const [mixedImgs, mixedLabels] = augments.call(imgs, labels);
  return digest(mixedImgs, mixedLabels);
}

let aligned = 0;
const steps = 3;
for (let step = 0; step < steps; step++) {
  const data = batch(step);
  const teacher = teacherStep(data);
  const student = studentStep(data);
  if (teacher === student) aligned++;
  console.log(JSON.stringify({ step, teacher, student, aligned: teacher === student }));
}
console.log(`teacher and student saw the same mixed batch in ${aligned} of ${steps} steps`);
