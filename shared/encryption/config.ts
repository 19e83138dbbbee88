import { randomBytes } from 'node:crypto';
import type { DataConverter } from '@temporalio/common';
import { codecKeysConfigSchema, loadConfig } from '../config';
import { z } from '../zod';
import { AesGcmPayloadCodec } from './payload-codec';

/** The keys from SAGA_CODEC_KEYS and the id of the one that encrypts (see codecKeysConfigSchema). */
export const codecConfigSchema = codecKeysConfigSchema.transform((value, ctx) => {
  const ids = [...value.SAGA_CODEC_KEYS.keys()];
  // With several keys, which one encrypts is said, never inferred from the order of a list (a reordered
  // or merged SAGA_CODEC_KEYS would otherwise silently switch the encrypting key).
  if (ids.length > 1 && value.SAGA_CODEC_ACTIVE_KEY_ID === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['SAGA_CODEC_ACTIVE_KEY_ID'],
      message: `is required when SAGA_CODEC_KEYS lists several keys: the id of the one that encrypts (${ids.join(', ')})`,
    });
    return z.NEVER;
  }
  const activeKeyId = value.SAGA_CODEC_ACTIVE_KEY_ID ?? ids[0]!;
  if (!value.SAGA_CODEC_KEYS.has(activeKeyId))
    ctx.addIssue({
      code: 'custom',
      path: ['SAGA_CODEC_ACTIVE_KEY_ID'],
      message: 'is not one of the key ids of SAGA_CODEC_KEYS',
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

/** The encrypting data converter with the keys of the environment (SAGA_CODEC_KEYS), as every process uses it. */
export function dataConverterFromEnv(env: NodeJS.ProcessEnv = process.env): DataConverter {
  return encryptingDataConverter(loadConfig(codecConfigSchema, env));
}

/** A fresh `keyId:base64key` entry, for tests and tools that run a throwaway stack. */
export function generateCodecKey(keyId: string): string {
  return `${keyId}:${randomBytes(32).toString('base64')}`;
}
