/**
 * Who holds a rank's writer lock (directory-lock.ts, redis-lock.ts): the host, the
 * process and when it started, and a token no other writer has. A lock whose holder is
 * on this host is judged by its process: gone when the pid is free, a zombie, or taken by
 * a process that started at another time (a reused pid), or when the machine has booted
 * since. A holder on another host cannot be judged from here: the lock is never broken.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

export interface Holder {
  readonly host: string;
  readonly pid: number;
  /** The process's start, in clock ticks since boot (Linux: /proc/<pid>/stat), when known. */
  readonly start: string | undefined;
  /** The machine's boot (Linux: /proc/sys/kernel/random/boot_id), when known. */
  readonly boot: string | undefined;
  readonly token: string;
  /** When the lock was taken (ISO 8601), for people reading it. */
  readonly since: string;
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** A process's state and start time from /proc/<pid>/stat (fields 3 and 22; the name, field 2, may hold spaces and parentheses). */
function procStat(pid: number | 'self'): { state: string; start: string } | undefined {
  const text = read(`/proc/${pid}/stat`);
  if (text === undefined) return undefined;
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return fields.length > 19 ? { state: fields[0]!, start: fields[19]! } : undefined;
}

const bootId = (): string | undefined => read('/proc/sys/kernel/random/boot_id')?.trim();

/** A holder for this process, with a fresh token. */
export function thisHolder(): Holder {
  return { host: hostname(), pid: process.pid, start: procStat('self')?.start, boot: bootId(), token: randomBytes(12).toString('hex'), since: new Date().toISOString() };
}

/** The holder a lock's text names, or undefined when it does not parse as one. */
export function parseHolder(text: string | undefined): Holder | undefined {
  let value: Partial<Holder> | null;
  try {
    value = JSON.parse(text ?? '') as Partial<Holder> | null;
  } catch {
    return undefined;
  }
  if (value === null || typeof value !== 'object' || typeof value.host !== 'string' || !Number.isSafeInteger(value.pid) || typeof value.token !== 'string') return undefined;
  return {
    host: value.host,
    pid: value.pid!,
    start: typeof value.start === 'string' ? value.start : undefined,
    boot: typeof value.boot === 'string' ? value.boot : undefined,
    token: value.token,
    since: typeof value.since === 'string' ? value.since : '',
  };
}

/** "alive": its process runs; "gone": it is on this host and its process has ended; "elsewhere": on another host, which this one cannot tell. */
export function holderState(holder: Holder): 'alive' | 'gone' | 'elsewhere' {
  if (holder.host !== hostname()) return 'elsewhere';
  const boot = bootId();
  if (holder.boot !== undefined && boot !== undefined && holder.boot !== boot) return 'gone';
  try {
    process.kill(holder.pid, 0);
  } catch (error) {
    // EPERM: the process exists and belongs to another user.
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return 'gone';
  }
  const stat = procStat(holder.pid);
  if (stat !== undefined && (stat.state === 'Z' || (holder.start !== undefined && stat.start !== holder.start))) return 'gone';
  return 'alive';
}

/** `process 4242 on host "gpu-3", since 2025-01-01T10:00:00.000Z`. */
export function describeHolder(holder: Holder): string {
  return `process ${holder.pid} on host "${holder.host}"${holder.since ? `, since ${holder.since}` : ''}`;
}
