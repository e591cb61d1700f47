// Run by bench/startup-small.js, started without --import: prints how long, in this process,
// `await import(loader.mjs)` takes, that is the agent's whole start with DISTILL_DELIVERY as
// set: wall time, and CPU time of all the process's threads (the hooks thread included),
// which other processes on a busy machine do not inflate.
import { performance } from 'node:perf_hooks';

const cpu = process.cpuUsage();
const start = performance.now();
await import(process.env.BENCH_LOADER_URL);
const ms = performance.now() - start;
const { user, system } = process.cpuUsage(cpu);
console.log(JSON.stringify({ ms, cpuMs: (user + system) / 1000 }));
