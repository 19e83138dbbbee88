import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Replay fixtures of released versions are kept forever and never re-recorded: every fixture's SHA-256 is
 * committed in histories/SHA256SUMS (the format `sha256sum -c` reads), a unit test compares them, and
 * recording refuses to overwrite a fixture. A new version's histories go into a new folder beside the old.
 */
export const FIXTURES_DIR = path.resolve(__dirname, '../fixtures/histories');
const MANIFEST = path.join(FIXTURES_DIR, 'SHA256SUMS');

export const sha256Of = (file: string): string =>
  createHash('sha256')
    .update(readFileSync(path.join(FIXTURES_DIR, file)))
    .digest('hex');

/** The committed checksums: relative path → hash. */
export function readManifest(): Map<string, string> {
  if (!existsSync(MANIFEST)) return new Map();
  return new Map(
    readFileSync(MANIFEST, 'utf8')
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => {
        const [hash, file] = line.split(/\s+/, 2);
        return [file as string, hash as string];
      }),
  );
}

/** Every fixture file on disk, as a path relative to the fixtures folder. */
export function fixtureFiles(): string[] {
  return readdirSync(FIXTURES_DIR, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .flatMap((dir) =>
      readdirSync(path.join(FIXTURES_DIR, dir.name))
        .filter((f) => f.endsWith('.json'))
        .map((f) => `${dir.name}/${f}`),
    )
    .sort();
}

/** Adds a newly recorded fixture; a fixture already listed is a released one and is never replaced. */
export function addToManifest(file: string): void {
  const manifest = readManifest();
  if (manifest.has(file)) throw new Error(`${file} is a released fixture; it is never re-recorded`);
  manifest.set(file, sha256Of(file));
  const lines = [...manifest.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([f, h]) => `${h}  ${f}`);
  writeFileSync(MANIFEST, `${lines.join('\n')}\n`);
}
