import { randomBytes } from 'node:crypto';
import type { Payload } from '@temporalio/common';
import { ConfigError, loadConfig } from '../../shared/config';
import { codecConfigSchema, generateCodecKey, payloadCodecFromConfig } from '../../shared/encryption/config';
import { AesGcmPayloadCodec, KEY_ID_METADATA } from '../../shared/encryption/payload-codec';

const json = (value: unknown): Payload => ({
  metadata: { encoding: Buffer.from('json/plain') },
  data: Buffer.from(JSON.stringify(value)),
});
const text = (bytes: Uint8Array | null | undefined) => Buffer.from(bytes ?? []).toString();

describe('AES-GCM payload codec', () => {
  const old = randomBytes(32);
  const current = randomBytes(32);

  test('round-trips a payload, metadata included, and hides its content', async () => {
    const codec = new AesGcmPayloadCodec(new Map([['k1', current]]), 'k1');
    const plain = json({ paymentToken: 'tok_visa', line1: '1 Main St' });
    const [sealed] = await codec.encode([plain]);
    expect(text(sealed!.metadata!.encoding)).toBe('binary/encrypted');
    expect(text(sealed!.metadata![KEY_ID_METADATA])).toBe('k1');
    expect(text(sealed!.data)).not.toContain('tok_visa');
    const [opened] = await codec.decode([sealed!]);
    expect(text(opened!.data)).toBe(text(plain.data));
    expect(text(opened!.metadata!.encoding)).toBe('json/plain');
  });

  test('the same payload encrypts differently each time (random IV)', async () => {
    const codec = new AesGcmPayloadCodec(new Map([['k1', current]]), 'k1');
    const [a, b] = await codec.encode([json('same'), json('same')]);
    expect(text(a!.data)).not.toBe(text(b!.data));
  });

  test('rotation: payloads sealed with the old key still open once a new key is active', async () => {
    const before = new AesGcmPayloadCodec(new Map([['old', old]]), 'old');
    const [sealedBefore] = await before.encode([json({ n: 1 })]);
    const after = new AesGcmPayloadCodec(
      new Map([
        ['old', old],
        ['new', current],
      ]),
      'new',
    );
    const [sealedAfter] = await after.encode([json({ n: 2 })]);
    expect(text(sealedAfter!.metadata![KEY_ID_METADATA])).toBe('new');
    const opened = await after.decode([sealedBefore!, sealedAfter!]);
    expect(opened.map((p) => JSON.parse(text(p.data)))).toEqual([{ n: 1 }, { n: 2 }]);
  });

  test('an unknown key id is named in the error, the key never', async () => {
    const [sealed] = await new AesGcmPayloadCodec(new Map([['gone', old]]), 'gone').encode([json(1)]);
    const codec = new AesGcmPayloadCodec(new Map([['k1', current]]), 'k1');
    await expect(codec.decode([sealed!])).rejects.toThrow('payload encrypted with unknown key id gone');
  });

  test('tampered ciphertext is refused', async () => {
    const codec = new AesGcmPayloadCodec(new Map([['k1', current]]), 'k1');
    const [sealed] = await codec.encode([json('x')]);
    const data = Buffer.from(sealed!.data!);
    data[20] = (data[20] ?? 0) ^ 0xff;
    await expect(codec.decode([{ ...sealed!, data }])).rejects.toThrow();
  });

  test('payloads that were never encrypted pass through decode', async () => {
    const codec = new AesGcmPayloadCodec(new Map([['k1', current]]), 'k1');
    const plain = json({ old: 'history' });
    expect(await codec.decode([plain])).toEqual([plain]);
  });
});

describe('codec configuration', () => {
  test('with several keys the one that encrypts must be named; with one key it is that one', () => {
    const keys = `${generateCodecKey('a')},${generateCodecKey('b')}`;
    expect(() => loadConfig(codecConfigSchema, { SAGA_CODEC_KEYS: keys })).toThrow(
      'Invalid configuration: SAGA_CODEC_ACTIVE_KEY_ID is required when SAGA_CODEC_KEYS lists several keys: the id of the one that encrypts (a, b)',
    );
    expect(
      loadConfig(codecConfigSchema, { SAGA_CODEC_KEYS: keys, SAGA_CODEC_ACTIVE_KEY_ID: 'a' }).activeKeyId,
    ).toBe('a');
    expect(loadConfig(codecConfigSchema, { SAGA_CODEC_KEYS: generateCodecKey('only') }).activeKeyId).toBe(
      'only',
    );
    const codec = payloadCodecFromConfig(
      loadConfig(codecConfigSchema, { SAGA_CODEC_KEYS: keys, SAGA_CODEC_ACTIVE_KEY_ID: 'b' }),
    );
    expect(codec).toBeInstanceOf(AesGcmPayloadCodec);
  });

  test.each([
    [{}, 'SAGA_CODEC_KEYS is required'],
    [{ SAGA_CODEC_KEYS: 'nokey' }, 'entry 1 needs a key id'],
    [
      { SAGA_CODEC_KEYS: `k1:${Buffer.from('short-secret-value').toString('base64')}` },
      'key k1 must be 32 bytes',
    ],
    [{ SAGA_CODEC_KEYS: `${generateCodecKey('k1')},${generateCodecKey('k1')}` }, 'key id k1 is listed twice'],
    [
      { SAGA_CODEC_KEYS: generateCodecKey('k1'), SAGA_CODEC_ACTIVE_KEY_ID: 'k9' },
      'SAGA_CODEC_ACTIVE_KEY_ID is not one of the key ids',
    ],
  ])('refuses %j with one line that quotes no key material', (env, message) => {
    let error: unknown;
    try {
      loadConfig(codecConfigSchema, env);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain(message);
    expect((error as Error).message).not.toContain('short-secret-value');
    expect((error as Error).message).not.toContain(Buffer.from('short-secret-value').toString('base64'));
    expect((error as Error).message).not.toContain('\n');
  });
});
