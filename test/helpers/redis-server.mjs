// Starts a real redis-server (Debian's package) for the store's tests (not itself a test):
// on a free loopback port, with no persistence, stopped by the caller.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';

/** True when redis-server is on the PATH; CI installs it (.ci/run), so there it must be. */
export const hasRedis = spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
/** A test option: skip without redis-server, except in CI, where its absence must fail. */
export const needsRedis = { skip: !hasRedis && !process.env.CI && 'needs redis-server (apt-get install redis-server)' };

async function freePort() {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  server.close();
  await once(server, 'close');
  return port;
}

/** Sends one command to the server at `port` on a connection of its own, and resolves with the reply. */
export async function redisCommand(port, ...args) {
  const { createClient } = await import('@redis/client');
  const client = createClient({ socket: { host: '127.0.0.1', port, reconnectStrategy: false }, RESP: 2 });
  client.on('error', () => {});
  await client.connect();
  try {
    return await client.sendCommand(args.map(String));
  } finally {
    client.destroy();
  }
}

/** A running redis-server: { port, url(key), command(...args), kill(signal), stop() }. */
export async function startRedis() {
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--logfile', ''], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const ready = await new Promise((resolve) => {
      child.stdout.on('data', (chunk) => {
        output += chunk;
        if (/Ready to accept connections/.test(output)) resolve(true);
      });
      child.on('exit', () => resolve(false));
      child.on('error', () => resolve(false));
    });
    child.stdout.resume();
    child.stderr.resume();
    if (ready) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      return {
        port,
        pid: child.pid,
        url: (key) => `redis://127.0.0.1:${port}/${key}`,
        command: (...args) => redisCommand(port, ...args),
        kill: (signal = 'SIGKILL') => child.kill(signal),
        exited,
        stop: async () => {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
          await exited;
        },
      };
    }
    // Another process took the port between freePort() and the server's bind: try another.
    if (attempt === 4) throw new Error(`redis-server did not start: ${output.slice(-500)}`);
  }
}
