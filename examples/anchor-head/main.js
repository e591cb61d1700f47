// An unedited script: the teacher's and the student's heads each assign anchors, and
// another module uses the same function on its own.
import { AnchorHead } from './head.js';
import { otherUse } from './other.js';

const anchors = Array.from({ length: 16 }, (_, i) => i);
const head = new AnchorHead();

function teacherForward() {
  return { head: head.assign(anchors), other: otherUse(anchors) };
}

function studentForward() {
  return { head: head.assign(anchors), other: otherUse(anchors) };
}

const teacher = teacherForward();
const student = studentForward();
const same = (a, b) => a.every((v, i) => v === b[i]);
console.log(JSON.stringify({ headSame: same(teacher.head, student.head), otherSame: same(teacher.other, student.other) }));
