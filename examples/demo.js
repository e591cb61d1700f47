// npm run demo: every example but TensorFlow.js's, in one run. Each case prints what
// happened and whether it came out as expected; the exit code is 0 only if every case did.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { DistillDeliveryManager, FunctionOutputsDelivery } from 'distill-delivery';

const root = fileURLToPath(new URL('..', import.meta.url));
const loader = new URL('../loader.mjs', import.meta.url).href;
const results = [];

function section(title) {
  console.log(`\n== ${title}`);
}

function check(name, ok, detail) {
  results.push(ok);
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${detail ? `: ${detail}` : ''}`);
}

/** Runs an example script as a child, with or without the agent. */
function runScript(script, config) {
  const args = config ? ['--import', loader, script] : [script];
  const env = { ...process.env };
  delete env.DISTILL_DELIVERY;
  delete env.NODE_OPTIONS;
  if (config) env.DISTILL_DELIVERY = config;
  const child = spawnSync(process.execPath, args, { cwd: root, env, encoding: 'utf8' });
  if (child.status !== 0) throw new Error(`${script} exited with ${child.status}:\n${child.stderr}`);
  return child;
}

const toyModule = createRequire(import.meta.url)('./toy/toy-module.cjs');

section('1. one output delivered from the teacher to the student (FunctionOutputsDelivery)');
{
  const delivery = new FunctionOutputsDelivery({ funcPath: './toy/toy-module.cjs#toyFunc', maxKeepData: 1, base: import.meta.url });
  delivery.overrideData = false;
  const teacher = delivery.run(() => toyModule.toyFunc());
  delivery.overrideData = true;
  const student = delivery.run(() => toyModule.toyFunc());
  console.log(`teacher's toyFunc() = ${teacher}, student's toyFunc() = ${student}`);
  check('the student got the teacher output', teacher === student);
  check('outside a delivery toyFunc() runs as usual', toyModule.toyFunc() !== toyModule.toyFunc());
}

section('2. several outputs, first in first out (maxKeepData 3)');
{
  const delivery = new FunctionOutputsDelivery({ funcPath: './toy/toy-module.cjs#toyFunc', maxKeepData: 3, base: import.meta.url });
  delivery.overrideData = false;
  const teacher = delivery.run(() => [toyModule.toyFunc(), toyModule.toyFunc(), toyModule.toyFunc()]);
  delivery.overrideData = true;
  const student = delivery.run(() => [toyModule.toyFunc(), toyModule.toyFunc(), toyModule.toyFunc()]);
  console.log(`teacher: ${teacher.join(', ')}\nstudent: ${student.join(', ')}`);
  check('replayed in the order recorded', teacher.every((v, i) => v === student[i]));
}

section('3. the mixup method aligned between teacher and student (DistillDeliveryManager)');
{
  const { Augments } = await import('./mixup/augments.js');
  const augments = new Augments({ alpha: 1, numClasses: 10, prob: 1 });
  const imgs = [Float32Array.of(1, 2, 3), Float32Array.of(4, 5, 6), Float32Array.of(7, 8, 9)];
  const labels = [0, 1, 2];
  const manager = new DistillDeliveryManager(
    [{ type: 'MethodOutputs', max_keep_data: 1, method_path: './mixup/augments.js#Augments.call' }],
    { base: import.meta.url },
  );
  const [withoutTeacher] = augments.call(imgs, labels);
  const [withoutStudent] = augments.call(imgs, labels);
  manager.overrideData = false;
  const [teacherImgs, teacherLabels] = manager.run(() => augments.call(imgs, labels));
  manager.overrideData = true;
  const [studentImgs, studentLabels] = manager.run(() => augments.call(imgs, labels));
  console.log(`without delivery the first mixed image differs: ${withoutTeacher[0][0].toFixed(4)} vs ${withoutStudent[0][0].toFixed(4)}`);
  console.log(`with the manager: ${teacherImgs[0][0].toFixed(4)} vs ${studentImgs[0][0].toFixed(4)}`);
  check('student images are the teacher images', teacherImgs === studentImgs);
  check('student labels are the teacher labels', teacherLabels === studentLabels);
  check('stats count one recorded and one replayed', JSON.stringify(manager.stats()['0']) === JSON.stringify({ recorded: 1, replayed: 1, pending: 0 }));
}

section('4. the same mixup on an unedited training script, through node --import ./loader.mjs');
{
  const without = runScript('examples/mixup/train.js');
  console.log(`without the agent: ${without.stdout.trim().split('\n').at(-1)}`);
  const withAgent = runScript('examples/mixup/train.js', 'examples/mixup/deliveries.json');
  console.log(`with DISTILL_DELIVERY=examples/mixup/deliveries.json: ${withAgent.stdout.trim().split('\n').at(-1)}`);
  console.log(withAgent.stderr.trim().split('\n').map((l) => `  | ${l}`).join('\n'));
  check('misaligned without the agent', / 0 of 3 steps/.test(without.stdout));
  check('aligned with the agent', / 3 of 3 steps/.test(withAgent.stdout));
}

section('5. "where used": a target path names a function as one module uses it');
{
  const read = (child) => JSON.parse(child.stdout.trim());
  const headOnly = read(runScript('examples/anchor-head/main.js', 'examples/anchor-head/deliveries.json'));
  console.log(`./head.js#anchorInsideFlags:  head ${headOnly.headSame ? 'delivered' : 'not delivered'}, other importer ${headOnly.otherSame ? 'delivered' : 'untouched'}`);
  check("the head's calls are delivered", headOnly.headSame === true);
  check("another importer's calls are untouched", headOnly.otherSame === false);
  const defining = read(runScript('examples/anchor-head/main.js', 'examples/anchor-head/deliveries-defining-module.json'));
  console.log(`./utils.js#anchorInsideFlags: head ${defining.headSame ? 'delivered' : 'not delivered'}, other importer ${defining.otherSame ? 'delivered' : 'untouched'}`);
  check('the defining module delivers every importer that reaches it through its export', defining.headSame && defining.otherSame);
}

const failed = results.filter((ok) => !ok).length;
console.log(`\n${results.length - failed} of ${results.length} checks as expected${failed ? `, ${failed} FAILED` : ''}.`);
process.exitCode = failed === 0 ? 0 : 1;
