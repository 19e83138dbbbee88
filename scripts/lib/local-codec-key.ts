import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { generateCodecKey } from '../../shared/encryption/config';

/**
 * The local stack's payload key: made once and kept beside the dev server's data, because histories kept
 * in .data/temporal can only be read with the key they were written with. Deleting .data forgets both.
 */
export function localCodecKeys(file: string): string {
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(path.dirname(file), { recursive: true });
  const keys = generateCodecKey('local-1');
  writeFileSync(file, `${keys}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return keys;
}
