/**
 * The npm registry this project is built against serves only some platforms' native packages (e.g.
 * @swc/core-linux-x64-gnu but not @swc/core-darwin-arm64). `npm install` then leaves the others out of
 * package-lock.json, and `npm ci` refuses the lock as out of sync. This records each missing
 * platform-specific optional dependency with its os and cpu, so `npm ci` skips it on other platforms as it
 * would have anyway. Run it after any `npm install` that changes the lock: `npx tsx scripts/lockfile/add-foreign-optionals.ts`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

interface LockEntry {
  version?: string;
  optional?: boolean;
  os?: string[];
  cpu?: string[];
  optionalDependencies?: Record<string, string>;
}

const OS = ['darwin', 'linux', 'win32', 'freebsd', 'android', 'openharmony'];
const CPU: Record<string, string> = {
  arm64: 'arm64',
  x64: 'x64',
  ia32: 'ia32',
  arm: 'arm',
  ppc64: 'ppc64',
  s390x: 's390x',
  loong64: 'loong64',
  riscv64: 'riscv64',
};

const file = path.resolve(__dirname, '../../package-lock.json');
const lock = JSON.parse(readFileSync(file, 'utf8')) as { packages: Record<string, LockEntry> };
let added = 0;
for (const [location, entry] of Object.entries(lock.packages)) {
  for (const [name, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const nested = `${location}/node_modules/${name}`;
    const top = `node_modules/${name}`;
    if (lock.packages[nested] || lock.packages[top]) continue;
    const parts = name.split('/').pop()!.split('-');
    const os = parts.find((p) => OS.includes(p));
    const cpu = parts.map((p) => CPU[p.replace(/gnueabihf|musleabihf|eabi/, '')]).find(Boolean);
    if (!os || !cpu) throw new Error(`cannot tell the platform of ${name}`);
    lock.packages[top] = { version, optional: true, os: [os], cpu: [cpu] };
    added += 1;
  }
}
lock.packages = Object.fromEntries(
  Object.entries(lock.packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b))),
);
writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`recorded ${added} platform-specific optional dependencies`);
