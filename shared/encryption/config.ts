import { randomBytes } from 'node:crypto';
import type { DataConverter } from '@temporalio/common';
import { z } from '../zod';
import { AesGcmPayloadCodec } from './payload-codec';

const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * SAGA_CODEC_KEYS: comma-separated `keyId:base64key` entries, each key 32 bytes (AES-256). New payloads
 * are encrypted with SAGA_CODEC_ACTIVE_KEY_ID (default: the last entry); any listed key decrypts. To rotate,
 * append a new key (it becomes active), and drop an old one only when no history still needs it.
 * Messages never quote key material.
 */
export const codecConfigSchema = z
  .object({
    SAGA_CODEC_KEYS: z
      .string({ error: 'is required: comma-separated keyId:base64key entries (32-byte keys)' })
      .transform((value, ctx) => {
        const keys = new Map<string, Buffer>();
        for (const [index, entry] of value
          .split(',')
          .map((e) => e.trim())
          .filter(Boolean)
          .entries()) {
          const separator = entry.indexOf(':');
          const id = separator > 0 ? entry.slice(0, separator) : '';
          const key = Buffer.from(entry.slice(separator + 1), 'base64');
          if (!KEY_ID.test(id)) {
            ctx.addIssue({
              code: 'custom',
              message: `entry ${index + 1} needs a key id ([A-Za-z0-9._-]) before ':'`,
            });
          } else if (keys.has(id)) {
            ctx.addIssue({ code: 'custom', message: `key id ${id} is listed twice` });
          } else if (key.length !== 32) {
            ctx.addIssue({
              code: 'custom',
              message: `key ${id} must be 32 bytes of base64 (openssl rand -base64 32)`,
            });
          } else keys.set(id, key);
        }
        if (keys.size === 0 && ctx.issues.length === 0)
          ctx.addIssue({ code: 'custom', message: 'needs at least one keyId:base64key entry' });
        return keys;
      }),
    SAGA_CODEC_ACTIVE_KEY_ID: z.string().trim().optional(),
  })
  .transform((value, ctx) => {
    const activeKeyId = value.SAGA_CODEC_ACTIVE_KEY_ID ?? [...value.SAGA_CODEC_KEYS.keys()].at(-1)!;
    if (!value.SAGA_CODEC_KEYS.has(activeKeyId))
      ctx.addIssue({
        code: 'custom',
        path: ['SAGA_CODEC_ACTIVE_KEY_ID'],
        message: `${activeKeyId} is not a key id of SAGA_CODEC_KEYS`,
      });
    return { keys: value.SAGA_CODEC_KEYS, activeKeyId };
  });

/** Workflow bundles must be built with it too (bundleWorkflowCode's failureConverterPath). */
export const FAILURE_CONVERTER_PATH = require.resolve('./failure-converter');

export type CodecConfig = z.infer<typeof codecConfigSchema>;

export function payloadCodecFromConfig(config: CodecConfig): AesGcmPayloadCodec {
  return new AesGcmPayloadCodec(config.keys, config.activeKeyId);
}

/**
 * What every client and worker uses: payloads encrypted by the codec, and failure messages and stack
 * traces moved into an encoded payload too, since a failure can quote customer data (a postal code).
 */
export function encryptingDataConverter(config: CodecConfig): DataConverter {
  return {
    payloadCodecs: [payloadCodecFromConfig(config)],
    failureConverterPath: FAILURE_CONVERTER_PATH,
  };
}

/** A fresh `keyId:base64key` entry, for tests and tools that run a throwaway stack. */
export function generateCodecKey(keyId: string): string {
  return `${keyId}:${randomBytes(32).toString('base64')}`;
}
