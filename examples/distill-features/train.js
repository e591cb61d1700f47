// Feature distillation on a spiral task, as an ordinary tfjs training script. A teacher
// (128-128 hidden units) is trained on all 2048 labeled points; then a student (16-16)
// is trained on the same 2048 inputs, of which only 1 in 8 keeps its label. For every
// batch, the teacher's step computes its soft targets; the student's step learns from
//   (1 - ALPHA) · cross-entropy on the labeled points of the batch
//   + ALPHA · T² · KL(teacher ‖ student)                   (the logits, at temperature T)
//   + BETA · mean squared error(connector(student's features), teacher's features),
// the features being each model's last hidden layer and the connector a learned linear
// map from the student's 16 to the teacher's 128 (FitNets' "hint" through a regressor).
// The script never reaches into the models for their features: it reads them from the
// recorders of the distill-delivery agent (features.json), which record MLP.features
// while the teacher's and the student's steps run:
//   DISTILL_DELIVERY=features.json node --import ../../loader.mjs train.js
//
// Environment: SEED (default 1) seeds the data, the teacher's weights and both batch
// orders; STUDENT_SEED (default SEED) the student's and the connector's initial weights
// alone, so one teacher can teach several students; ALPHA (default 0.9) and BETA
// (default 1) weigh the logit and feature terms (BETA=0: the recorders are not read);
// ALONE=1 trains the student alone instead: cross-entropy on the labeled points only,
// the same number of steps, no teacher (run it without the agent); TEACHER_EPOCHS
// (default 30, quick 3): 0 when the teacher's outputs come from a store (store.json);
// QUICK=1 makes a tiny run for tests. Prints a line per epoch, then one JSON line.
import * as tf from '@tensorflow/tfjs';
import { mulberry32, spirals } from './data.js';
import { MLP } from './model.js';
// In your own project: import { getRecorder } from 'distill-delivery';
import { getRecorder } from '../../dist/index.js';

const env = (name, fallback) => (process.env[name] === undefined || process.env[name] === '' ? fallback : Number(process.env[name]));
const seed = env('SEED', 1);
const studentSeed = env('STUDENT_SEED', seed);
const quick = process.env.QUICK === '1';
const alone = process.env.ALONE === '1';
const alpha = alone ? 0 : env('ALPHA', 0.9);
const beta = alone ? 0 : env('BETA', 1);
const temperature = 4;
const settings = quick
  ? { trainSize: 512, testSize: 512, batchSize: 64, labeledEvery: 8, teacherEpochs: 3, studentEpochs: 2 }
  : { trainSize: 2048, testSize: 2048, batchSize: 64, labeledEvery: 8, teacherEpochs: 30, studentEpochs: 20 };
settings.teacherEpochs = alone ? 0 : env('TEACHER_EPOCHS', settings.teacherEpochs);
const sizes = { teacher: [64, 64], student: [16, 16] };

await tf.setBackend('cpu');
tf.enableProdMode(); // only silences tfjs's notice about the native Node backend
const data = spirals({ seed, trainSize: settings.trainSize, testSize: settings.testSize });
const labeledCount = settings.trainSize / settings.labeledEvery; // the points are in random order: the first ones keep their labels
console.log(`seed ${seed}, student seed ${studentSeed}: ${settings.trainSize} training points (${labeledCount} labeled for the student), ${settings.testSize} test points; ${alone ? 'student alone' : `ALPHA ${alpha}, BETA ${beta}, T ${temperature}`}`);

/** Shuffled batches of `count` training points, as [xs, one-hot labels, labeled mask] (arrays; the caller makes tensors). */
function* batches(count, random) {
  const order = Array.from({ length: count }, (_, i) => i);
  for (let i = count - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  for (let start = 0; start + settings.batchSize <= count; start += settings.batchSize) {
    const rows = order.slice(start, start + settings.batchSize);
    const xs = new Float32Array(rows.length * data.dims);
    rows.forEach((row, i) => xs.set(data.train.xs.subarray(row * data.dims, (row + 1) * data.dims), i * data.dims));
    yield [xs, Int32Array.from(rows, (row) => data.train.labels[row]), Float32Array.from(rows, (row) => (row < labeledCount ? 1 : 0))];
  }
}

const tensors = ([xs, labels, labeled]) => tf.tidy(() => [tf.tensor2d(xs, [labeled.length, data.dims]), tf.oneHot(tf.tensor1d(labels, 'int32'), data.numClasses).toFloat(), tf.tensor1d(labeled)]);

function accuracy(model) {
  return tf.tidy(() => {
    const predicted = model.forward(tf.tensor2d(data.test.xs, [data.test.labels.length, data.dims])).argMax(1);
    return predicted.equal(tf.tensor1d(data.test.labels, 'int32')).mean().dataSync()[0];
  });
}

/** Cross-entropy over the labeled rows of a batch only (0 when it has none). */
function labeledCrossEntropy(onehot, logits, labeled) {
  const perRow = tf.losses.softmaxCrossEntropy(onehot, logits, undefined, undefined, tf.Reduction.NONE);
  return tf.div(tf.sum(tf.mul(perRow, labeled)), tf.maximum(tf.sum(labeled), 1));
}

class Distiller {
  constructor({ teacher, student }) {
    this.teacher = teacher;
    this.student = student;
    // FitNets' regressor: the student's 16 features mapped to the teacher's 128.
    this.connector = tf.layers.dense({ units: sizes.teacher.at(-1), useBias: false, kernelInitializer: tf.initializers.glorotUniform({ seed: studentSeed * 1000 + 77 }) });
    tf.tidy(() => this.connector.apply(tf.zeros([1, sizes.student.at(-1)])));
    this.variables = [...student.variables(), ...this.connector.trainableWeights.map((w) => w.read())];
    this.optimizer = tf.train.adam(0.01);
  }

  /** The teacher's soft targets for a batch (the one tensor its tidy keeps: the caller disposes it). */
  teacherStep(xs) {
    return tf.tidy(() => tf.softmax(tf.div(this.teacher.forward(xs), temperature)));
  }

  /** One Adam step of the student on the batch; returns the loss. */
  studentStep(xs, onehot, labeled, softTargets) {
    return tf.tidy(() =>
      this.optimizer.minimize(() => {
        const logits = this.student.forward(xs);
        let loss = tf.mul(labeledCrossEntropy(onehot, logits, labeled), 1 - alpha);
        if (alpha > 0) {
          const kl = tf.mean(tf.sum(tf.mul(softTargets, tf.sub(tf.log(tf.add(softTargets, 1e-8)), tf.logSoftmax(tf.div(logits, temperature)))), 1));
          loss = tf.add(loss, tf.mul(kl, alpha * temperature * temperature));
        }
        if (beta > 0) {
          // What MLP.features returned in the teacher's step and in this one: records 0 of the agent's recorders.
          const teacherFeatures = getRecorder('teacherFeatures').getRecordData(0);
          const studentFeatures = getRecorder('studentFeatures').getRecordData(0);
          loss = tf.add(loss, tf.mul(tf.losses.meanSquaredError(teacherFeatures, this.connector.apply(studentFeatures)), beta));
        }
        return loss;
      }, true, this.variables),
    );
  }

  step(batch) {
    const [xs, onehot, labeled] = tensors(batch);
    const softTargets = this.teacherStep(xs);
    const loss = this.studentStep(xs, onehot, labeled, softTargets);
    const value = loss.dataSync()[0];
    tf.dispose([xs, onehot, labeled, softTargets, loss]);
    return value;
  }
}

// 1. The teacher, trained on every label (skipped when its outputs come from a store).
const teacher = new MLP({ inputs: data.dims, hidden: sizes.teacher, classes: data.numClasses, seed: seed * 1000 });
const teacherOptimizer = tf.train.adam(0.005);
const teacherRandom = mulberry32(seed * 31 + 5);
for (let epoch = 1; epoch <= settings.teacherEpochs; epoch++) {
  let total = 0;
  let count = 0;
  for (const batch of batches(settings.trainSize, teacherRandom)) {
    const [xs, onehot, labeled] = tensors(batch);
    const loss = teacherOptimizer.minimize(() => tf.losses.softmaxCrossEntropy(onehot, teacher.forward(xs)), true, teacher.variables());
    total += loss.dataSync()[0];
    count++;
    tf.dispose([xs, onehot, labeled, loss]);
  }
  if (epoch % 10 === 0 || epoch === settings.teacherEpochs) console.log(`teacher epoch ${String(epoch).padStart(2)}/${settings.teacherEpochs}  loss ${(total / count).toFixed(4)}  test acc ${(100 * accuracy(teacher)).toFixed(1)}%`);
}
const teacherAccuracy = settings.teacherEpochs > 0 ? accuracy(teacher) : null;

// 2. The student: distilled over every input (its own labels on 1 in 8), or alone on its labeled points, for as many steps.
const student = new MLP({ inputs: data.dims, hidden: sizes.student, classes: data.numClasses, seed: studentSeed * 1000 + 500 });
const distiller = alone ? undefined : new Distiller({ teacher, student });
const aloneOptimizer = tf.train.adam(0.01);
const studentRandom = mulberry32(seed * 37 + 11);
const stepsPerEpoch = Math.floor(settings.trainSize / settings.batchSize);
const curve = [];
let tensorsAfterFirstEpoch;
let steps = 0;
for (let epoch = 1; epoch <= settings.studentEpochs; epoch++) {
  let total = 0;
  let count = 0;
  while (count < stepsPerEpoch) {
    // Alone: passes over the labeled points until the epoch has as many steps as a distilled one.
    for (const batch of batches(alone ? labeledCount : settings.trainSize, studentRandom)) {
      if (count === stepsPerEpoch) break;
      if (alone) {
        const [xs, onehot, labeled] = tensors(batch);
        const loss = aloneOptimizer.minimize(() => tf.losses.softmaxCrossEntropy(onehot, student.forward(xs)), true, student.variables());
        total += loss.dataSync()[0];
        tf.dispose([xs, onehot, labeled, loss]);
      } else {
        total += distiller.step(batch);
      }
      count++;
    }
  }
  steps += count;
  tensorsAfterFirstEpoch ??= tf.memory().numTensors;
  curve.push(accuracy(student));
  console.log(`student epoch ${String(epoch).padStart(2)}/${settings.studentEpochs}  loss ${(total / count).toFixed(4)}  test acc ${(100 * curve.at(-1)).toFixed(1)}%  tensors ${tf.memory().numTensors}`);
}

const cpu = process.cpuUsage();
console.log(JSON.stringify({
  seed,
  studentSeed,
  quick,
  alone,
  alpha,
  beta,
  teacherEpochs: settings.teacherEpochs,
  teacherAccuracy,
  studentAccuracy: curve.at(-1),
  studentCurve: curve,
  steps,
  cpuSeconds: (cpu.user + cpu.system) / 1e6,
  tensors: { afterFirstEpoch: tensorsAfterFirstEpoch, atEnd: tf.memory().numTensors },
}));
