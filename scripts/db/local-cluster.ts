import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { userInfo } from 'node:os';
import path from 'node:path';

/**
 * Where no PostgreSQL answers on the configured local address, the project runs its own cluster from
 * Debian's PostgreSQL under .data/postgres, so `npm start` and `npm test` work on a fresh machine.
 */

export interface LocalCluster {
  port: number;
  stop(): Promise<void>;
}

const DATA_DIR = path.resolve(__dirname, '../../.data/postgres');

function postgresBinDir(log: (line: string) => void): string {
  const find = () => {
    const root = '/usr/lib/postgresql';
    if (!existsSync(root)) return undefined;
    const versions = readdirSync(root).filter((v) => existsSync(path.join(root, v, 'bin', 'initdb')));
    const newest = versions.sort((a, b) => Number(b) - Number(a))[0];
    return newest ? path.join(root, newest, 'bin') : undefined;
  };
  let dir = find();
  if (!dir) {
    log('PostgreSQL is not installed: installing Debian package postgresql (apt-get)...');
    const install = spawnSync('apt-get', ['install', '-y', '-q', 'postgresql'], {
      encoding: 'utf8',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    if (install.status !== 0) {
      throw new Error('no PostgreSQL server is reachable and `apt-get install postgresql` failed');
    }
    dir = find();
    if (!dir) throw new Error('PostgreSQL was installed but initdb was not found under /usr/lib/postgresql');
  }
  return dir;
}

/** Runs a PostgreSQL tool as the postgres user when we are root (PostgreSQL refuses to run as root). */
function asPostgres(bin: string, args: string[]): void {
  const asRoot = userInfo().uid === 0;
  const [command, commandArgs] = asRoot ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
  execFileSync(command as string, commandArgs as string[], { stdio: 'pipe' });
}

export async function startLocalCluster(port: number, log: (line: string) => void): Promise<LocalCluster> {
  const bin = postgresBinDir(log);
  if (!existsSync(path.join(DATA_DIR, 'PG_VERSION'))) {
    mkdirSync(DATA_DIR, { recursive: true });
    if (userInfo().uid === 0) {
      const uid = Number(execFileSync('id', ['-u', 'postgres']).toString());
      const gid = Number(execFileSync('id', ['-g', 'postgres']).toString());
      chownSync(DATA_DIR, uid, gid);
    }
    asPostgres(path.join(bin, 'initdb'), ['-D', DATA_DIR, '-U', 'postgres', '--auth=trust', '-E', 'UTF8']);
  }
  log(`starting a local PostgreSQL cluster on port ${port} (${DATA_DIR})`);
  asPostgres(path.join(bin, 'pg_ctl'), [
    '-D',
    DATA_DIR,
    '-o',
    `-p ${port} -k /tmp -c listen_addresses=127.0.0.1`,
    '-l',
    path.join(DATA_DIR, 'server.log'),
    '-w',
    'start',
  ]);
  return {
    port,
    async stop() {
      asPostgres(path.join(bin, 'pg_ctl'), ['-D', DATA_DIR, '-m', 'fast', '-w', 'stop']);
    },
  };
}
