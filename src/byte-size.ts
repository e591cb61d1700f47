/**
 * A byte count for people, in powers of 1000: `850 B`, `12.3 MB`. `compact` (the command
 * line's tables) drops the tenths from 10 up: `12 MB`. Bytes under 1000 are whole.
 */
export function byteSize(bytes: number, compact = false): string {
  if (bytes < 1000) return `${Math.round(bytes)} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let value = bytes / 1000;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) (value /= 1000), unit++;
  return `${value.toFixed(compact && value >= 10 ? 0 : 1)} ${units[unit]}`;
}
