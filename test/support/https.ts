import { request } from 'node:https';
import type { TLSSocket } from 'node:tls';

export interface HttpsAnswer {
  status: number;
  body: string;
  fingerprint: string;
  setCookie: string[];
  headers: Record<string, string | string[] | undefined>;
}

/** One HTTPS request trusting only `ca`, with the certificate the server presented. */
export function httpsRequest(
  url: string,
  ca: Buffer,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: options.method ?? 'GET', headers: options.headers, ca, agent: false },
      (res) => {
        // Read while the socket is attached (it is released once the response ends).
        const { fingerprint256 } = (res.socket as TLSSocket).getPeerCertificate();
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body,
            fingerprint: fingerprint256,
            setCookie: res.headers['set-cookie'] ?? [],
            headers: res.headers,
          }),
        );
      },
    );
    req.once('error', reject);
    req.end(options.body);
  });
}
