/**
 * A PostgreSQL cluster of the harness's own: `npm run test:faults` stops PostgreSQL with `-m immediate` (as a
 * crash or a failover does) and starts it again, which it may not do to the machine's shared server. Made with
 * Debian's `initdb` and `pg_ctl` in a temporary folder, on a port below the ephemeral range; as root, the server
 * runs as the `postgres` user (PostgreSQL refuses to run as root).
 */
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';

export interface PostgresCluster {
  /** `postgres://postgres@127.0.0.1:<port>/<database>`. */
  url(database: string): string;
  readonly description: string;
  /** `pg_ctl stop -m <mode>`: `immediate` is a crash (no checkpoint; recovery replays the WAL at the next start). */
  stop(mode: 'immediate' | 'fast'): Promise<void>;
  start(): Promise<void>;
  /** Stops it and removes its files. */
  destroy(): Promise<void>;
}

/** The folder of Debian's PostgreSQL programs, the newest installed version. */
function postgresBin(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(path.join(root, v, 'bin', 'pg_ctl')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0)
    throw new Error(`no PostgreSQL server programs under ${root} (apt-get install postgresql)`);
  return path.join(root, versions[0], 'bin');
}

export async function createPostgresCluster(port: number): Promise<PostgresCluster> {
  const bin = postgresBin();
  const asRoot = userInfo().uid === 0;
  const dir = mkdtempSync(path.join(tmpdir(), 'faults-pg-'));
  const data = path.join(dir, 'data');
  const command = (program: string, args: string[]): [string, string[]] =>
    asRoot ? ['runuser', ['-u', 'postgres', '--', path.join(bin, program), ...args]] : [path.join(bin, program), args];
  // Not blocking the harness's event loop (its simulator and operators run on) while PostgreSQL recovers.
  const run = async (program: string, args: string[]) => {
    await promisify(execFile)(...command(program, args), { cwd: dir });
  };
  if (asRoot) {
    const { uid, gid } = (() => {
      const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
      return { uid: id('-u'), gid: id('-g') };
    })();
    chownSync(dir, uid, gid);
  }
  try {
    execFileSync(...command('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8']), {
      stdio: ['ignore', 'pipe', 'pipe'],
      cwd: dir,
    });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  // Durable as a production server is (fsync on): a crash loses nothing that was committed.
  const options = [
    `-p ${port}`,
    `-k ${dir}`,
    '-c listen_addresses=127.0.0.1',
    '-c max_connections=300',
    '-c shared_buffers=64MB',
  ].join(' ');
  const cluster: PostgresCluster = {
    url: (database) => `postgres://postgres@127.0.0.1:${port}/${database}`,
    description: `PostgreSQL ${path.basename(path.dirname(bin))} (a cluster of the harness's own, port ${port})`,
    stop: (mode) => run('pg_ctl', ['-D', data, '-m', mode, '-w', 'stop']),
    start: () =>
      run('pg_ctl', ['-D', data, '-o', options, '-l', path.join(dir, 'server.log'), '-w', '-t', '60', 'start']),
    async destroy() {
      await cluster.stop('fast').catch(() => undefined); // not running
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await cluster.start();
  return cluster;
}
