// Knowledge distillation on mixup batches, as an ordinary tfjs script that knows nothing
// about delivery. First a teacher (64-64 hidden units) is trained on mixup batches; then a
// student (16-16) is distilled from it: for every batch,
// the teacher's step mixes the batch and computes soft targets, and the student's step
// mixes the batch again and learns from those soft targets. Run as is, the two mixes
// differ (Math.random draws a new ratio and pairing each call), so the teacher's soft
// targets describe inputs the student never sees. Run with
//   DISTILL_DELIVERY=deliveries.json node --import ../../loader.mjs train.js
// and the student's mixup call returns the teacher's mixed batch instead.
//
// Environment: SEED (integer, default 1) seeds the data, the weight initialisation, the
// batch order and Math.random (replaced at start by a seeded generator, so the mixup's
// draws repeat too, and again as the student's stage starts: there the loader shuffles
// from Math.random, which it shares with the mixup; the teacher's batch order has a
// generator of its own); STUDENT_SEED (default SEED) seeds the student's initial weights
// alone, so one teacher can teach several students; KD_WEIGHT (default 0.9) is the weight
// of the distillation term, the rest going to cross-entropy on the mixed labels (0 trains
// the student alone); TEACHER_EPOCHS (default 30, quick 3) is how long the teacher trains;
// TEACHER=stored when the teacher's outputs come from a store (see store.json): no teacher is
// built or trained, and its forward pass must not run (a replay returns the stored outputs);
// TEACHER=none trains the same student with no teacher at all (none built, trained or run:
// its soft targets are the mixed labels), the floor a student replaying a store is timed
// against; QUICK=1 makes a tiny run for tests.
// Prints progress per epoch, then one JSON line with the results, among them a digest of
// each distillation step's batch (as the loader gave it) and of what the student was fed.
import * as tf from '@tensorflow/tfjs';
import { Mixup } from './augments.js';
import { mulberry32, spirals } from './data.js';

const seed = Number.parseInt(process.env.SEED ?? '1', 10);
const studentSeed = Number.parseInt(process.env.STUDENT_SEED ?? String(seed), 10);
const quick = process.env.QUICK === '1';
Math.random = mulberry32(seed * 7919 + 17);

const settings = quick
  ? { trainSize: 512, testSize: 512, batchSize: 64, teacherEpochs: 3, studentEpochs: 2 }
  : { trainSize: 2048, testSize: 2048, batchSize: 64, teacherEpochs: 30, studentEpochs: 20 };
if (process.env.TEACHER_EPOCHS !== undefined) settings.teacherEpochs = Number.parseInt(process.env.TEACHER_EPOCHS, 10);
const temperature = 4;
const kdWeight = Number(process.env.KD_WEIGHT ?? 0.9);
const teacherKind = process.env.TEACHER ?? 'trained';
if (!['trained', 'stored', 'none'].includes(teacherKind)) throw new Error(`TEACHER must be trained, stored or none, not ${teacherKind}`);
if (teacherKind !== 'trained') settings.teacherEpochs = 0;

await tf.setBackend('cpu');
tf.enableProdMode(); // only silences tfjs's notice about the native Node backend
const data = spirals({ seed, trainSize: settings.trainSize, testSize: settings.testSize });
const mixup = new Mixup({ alpha: 0.4, numClasses: data.numClasses });
console.log(`seed ${seed}: ${settings.trainSize} train and ${settings.testSize} test points, ${data.numClasses} classes, ${data.dims} features; KD weight ${kdWeight}, temperature ${temperature}`);

/** A multilayer perceptron returning logits; `seed` fixes its initial weights. */
function mlp(hidden, initSeed) {
  const model = tf.sequential();
  hidden.forEach((units, i) => {
    model.add(tf.layers.dense({
      units,
      activation: 'relu',
      inputShape: i === 0 ? [data.dims] : undefined,
      kernelInitializer: tf.initializers.heNormal({ seed: initSeed + i }),
    }));
  });
  model.add(tf.layers.dense({ units: data.numClasses, kernelInitializer: tf.initializers.glorotUniform({ seed: initSeed + 99 }) }));
  return model;
}

/** Shuffled batches of the training split, as [xs, labels] tensors (disposed by the caller's tidy). */
function* batches(split, random) {
  const n = split.labels.length;
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  for (let start = 0; start + settings.batchSize <= n; start += settings.batchSize) {
    const rows = order.slice(start, start + settings.batchSize);
    const xs = new Float32Array(rows.length * data.dims);
    rows.forEach((row, i) => xs.set(split.xs.subarray(row * data.dims, (row + 1) * data.dims), i * data.dims));
    yield [xs, Int32Array.from(rows, (row) => split.labels[row]), rows.length];
  }
}

function accuracy(model, split) {
  return tf.tidy(() => {
    const xs = tf.tensor2d(split.xs, [split.labels.length, data.dims]);
    const predicted = model.predict(xs).argMax(1);
    return predicted.equal(tf.tensor1d(split.labels, 'int32')).mean().dataSync()[0];
  });
}

/** A checksum of the exact bits of typed arrays. */
function digestOf(...arrays) {
  let h = 0x811c9dc5;
  for (const a of arrays) {
    for (const word of new Uint32Array(a.slice().buffer)) h = Math.imul(h ^ word, 0x01000193);
  }
  return h >>> 0;
}

/** A checksum of the exact bits of what a model was fed (mixed inputs and mixed labels). */
function digest(...tensors) {
  return digestOf(...tensors.map((t) => t.dataSync()));
}

class Distiller {
  constructor({ teacher, student, mixup }) {
    this.teacher = teacher;
    this.student = student;
    this.mixup = mixup;
    this.optimizer = tf.train.adam(0.01);
    this.fed = { teacher: 0, student: 0 };
  }

  /** Mixes the batch and returns the teacher's soft targets for it (the one tensor its tidy keeps: the caller disposes it). */
  teacherStep(xs, labels) {
    return tf.tidy(() => {
      const [mixed, mixedLabels] = this.mixup.call(xs, labels);
      this.fed.teacher = digest(mixed, mixedLabels);
      return this.softTargets(mixed);
    });
  }

  /** The teacher's forward pass: its softened class probabilities for a batch. */
  softTargets(mixed) {
    if (this.teacher === 'stored') throw new Error('TEACHER=stored: the teacher was not built, so its soft targets must come from a store (DISTILL_DELIVERY=store.json, DISTILL_DELIVERY_STORE_MODE=replay)');
    return tf.softmax(this.teacher.predict(mixed).div(temperature));
  }

  /**
   * Mixes the batch and trains the student on KL to the soft targets plus cross-entropy on
   * the mixed labels; returns the loss. Without a teacher (`teacherTargets` null) the soft
   * targets are the mixed labels.
   */
  studentStep(xs, labels, teacherTargets) {
    return tf.tidy(() => {
      const [mixed, mixedLabels] = this.mixup.call(xs, labels);
      const softTargets = teacherTargets ?? mixedLabels;
      this.fed.student = digest(mixed, mixedLabels);
      return this.optimizer.minimize(() => {
        const logits = this.student.apply(mixed);
        const logSoft = tf.logSoftmax(logits.div(temperature));
        const kl = softTargets.mul(softTargets.add(1e-8).log().sub(logSoft)).sum(1).mean();
        const ce = tf.losses.softmaxCrossEntropy(mixedLabels, logits);
        return kl.mul(kdWeight * temperature * temperature).add(ce.mul(1 - kdWeight));
      }, true);
    });
  }

  /** One distillation step: each step frees what it made in its own tf.tidy, the mixed batches included. */
  step(xs, labels) {
    const softTargets = this.teacher === undefined ? null : this.teacherStep(xs, labels);
    const loss = this.studentStep(xs, labels, softTargets);
    softTargets?.dispose();
    const value = loss.dataSync()[0];
    loss.dispose();
    return value;
  }
}

const pct = (x) => `${(100 * x).toFixed(1)}%`;

// 1. The teacher, trained alone on mixup batches.
const teacherBatchRandom = mulberry32(seed * 31 + 5);
// With TEACHER=stored a stand-in: the teacher step runs, but what it would compute comes from the store.
const teacher = teacherKind === 'trained' ? mlp([64, 64], seed * 1000) : teacherKind === 'stored' ? 'stored' : undefined;
const teacherOptimizer = tf.train.adam(0.005);
function trainTeacherBatch(xs, labels) {
  const [mixed, mixedLabels] = mixup.call(xs, labels);
  return teacherOptimizer.minimize(() => tf.losses.softmaxCrossEntropy(mixedLabels, teacher.apply(mixed)), true);
}
for (let epoch = 1; epoch <= settings.teacherEpochs; epoch++) {
  let total = 0;
  let count = 0;
  for (const [xs, labels, n] of batches(data.train, teacherBatchRandom)) {
    const loss = tf.tidy(() => trainTeacherBatch(tf.tensor2d(xs, [n, data.dims]), tf.tensor1d(labels, 'int32')));
    total += loss.dataSync()[0];
    count++;
    loss.dispose();
  }
  console.log(`teacher epoch ${String(epoch).padStart(2)}/${settings.teacherEpochs}  loss ${(total / count).toFixed(4)}  test acc ${pct(accuracy(teacher, data.test))}`);
}
const teacherAccuracy = teacherKind === 'trained' ? accuracy(teacher, data.test) : null;

// 2. The student, distilled from the teacher on mixup batches. This stage seeds
// Math.random again as it starts (as scripts that seed each stage do), so it draws the
// same whether or not the teacher trained in this process, and its loader shuffles from
// Math.random, which it shares with the mixup: a mixup call that does not run must still
// draw (a replayed one does: the agent advances Math.random by its recorded draws), or
// the next epoch's batches are other ones. A store's content checks compare each step's
// mixup arguments (the batch) with the record run's, so a replay fed other batches fails.
Math.random = mulberry32(seed * 7919 + 18);
const student = mlp([16, 16], studentSeed * 1000 + 500);
const distiller = new Distiller({ teacher, student, mixup });
const curve = [];
let batchCount = 0;
let alignedCount = 0;
let tensorsAtStart;
const batchDigests = [];
const fedDigests = [];
for (let epoch = 1; epoch <= settings.studentEpochs; epoch++) {
  let total = 0;
  let count = 0;
  let aligned = 0;
  for (const [xs, labels, n] of batches(data.train, () => Math.random())) {
    batchDigests.push(digestOf(xs, labels));
    const xsTensor = tf.tensor2d(xs, [n, data.dims]);
    const labelsTensor = tf.tensor1d(labels, 'int32');
    total += distiller.step(xsTensor, labelsTensor);
    tf.dispose([xsTensor, labelsTensor]);
    fedDigests.push(distiller.fed.student);
    count++;
    if (distiller.fed.teacher === distiller.fed.student) aligned++;
  }
  tensorsAtStart ??= tf.memory().numTensors;
  batchCount += count;
  alignedCount += aligned;
  const testAccuracy = accuracy(student, data.test);
  curve.push(testAccuracy);
  console.log(`student epoch ${String(epoch).padStart(2)}/${settings.studentEpochs}  loss ${(total / count).toFixed(4)}  test acc ${pct(testAccuracy)}  same mixed batch as teacher ${aligned}/${count}  tensors ${tf.memory().numTensors}`);
}

const cpu = process.cpuUsage();
console.log(JSON.stringify({
  seed,
  studentSeed,
  teacherEpochs: settings.teacherEpochs,
  cpuSeconds: (cpu.user + cpu.system) / 1e6,
  quick,
  kdWeight,
  teacherAccuracy,
  studentAccuracy: curve.at(-1),
  studentCurve: curve,
  batches: batchCount,
  alignedBatches: alignedCount,
  batchDigests,
  fedDigests,
  tensors: { afterFirstEpoch: tensorsAtStart, atEnd: tf.memory().numTensors },
}));
