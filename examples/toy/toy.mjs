// MMRazor's two FunctionOutputsDelivery cases through the library API: one output, then several (FIFO).
import { createRequire } from 'node:module';
import { FunctionOutputsDelivery } from 'distill-delivery';

const toyModule = createRequire(import.meta.url)('./toy-module.cjs');

// Case 1: deliver one output from the teacher to the student.
const delivery = new FunctionOutputsDelivery({ funcPath: './toy-module.cjs#toyFunc', maxKeepData: 1, base: import.meta.url });
delivery.overrideData = false; // record: the teacher's call runs and its output is kept
const outputTeacher = delivery.run(() => toyModule.toyFunc());
delivery.overrideData = true; // override: the student's call returns the teacher's output
const outputStudent = delivery.run(() => toyModule.toyFunc());
console.log(`case 1: teacher ${outputTeacher}, student ${outputStudent}, equal: ${outputTeacher === outputStudent}`);

// Case 2: several outputs, delivered first in, first out.
const fifo = new FunctionOutputsDelivery({ funcPath: './toy-module.cjs#toyFunc', maxKeepData: 2, base: import.meta.url });
fifo.overrideData = false;
const [teacher1, teacher2] = fifo.run(() => [toyModule.toyFunc(), toyModule.toyFunc()]);
fifo.overrideData = true;
const [student1, student2] = fifo.run(() => [toyModule.toyFunc(), toyModule.toyFunc()]);
console.log(`case 2: teacher ${teacher1}, ${teacher2}; student ${student1}, ${student2}; equal in order: ${teacher1 === student1 && teacher2 === student2}`);

// Outside a delivery the function runs as usual.
console.log(`outside: ${toyModule.toyFunc() !== toyModule.toyFunc() ? 'random again' : 'unexpectedly equal'}`);
