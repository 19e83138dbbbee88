import type { Server } from 'node:http';
import type { Express } from 'express';
import pino from 'pino';
import { createCodecServerApp } from '../../codec-server/app';
import { loadConfig } from '../../shared/config';
import { codecConfigSchema, payloadCodecFromConfig } from '../../shared/encryption/config';

export interface Listening {
  url: string;
  close(): Promise<void>;
}

/** Serves an Express app on a free local port, for tests that talk to it over real HTTP. */
export async function listen(app: Express): Promise<Listening> {
  const server = await new Promise<Server>((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  const address = server.address();
  return {
    url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The real codec server on a free port, with the run's payload keys (set by global-setup). */
export function listenCodecServer(apiKey: string, uiOrigin: string): Promise<Listening> {
  return listen(
    createCodecServerApp({
      codec: payloadCodecFromConfig(loadConfig(codecConfigSchema)),
      apiKeys: [apiKey],
      allowedOrigins: [uiOrigin],
      logger: pino({ level: 'silent' }),
    }),
  );
}
