import type { Express } from 'express';
import fc from 'fast-check';
import request from 'supertest';
import { fuzzRequests, type FuzzRequest } from './requests';

export interface FuzzReport {
  requests: number;
  byStatus: Record<string, number>;
  failures: { request: string; status: number; reason: string }[];
  rssGrowthMiB: number;
}

/**
 * Sends generated hostile requests to the app: every answer must be a 4xx problem+json, never a 5xx or a
 * success. Whether a workflow started is checked by the caller (count before and after).
 */
export async function runFuzz(
  app: Express,
  apiKey: string,
  count: number,
  seed: number,
): Promise<FuzzReport> {
  const samples = fc.sample(fuzzRequests(apiKey), { numRuns: count, seed });
  const byStatus: Record<string, number> = {};
  const failures: FuzzReport['failures'] = [];
  global.gc?.();
  const rssBefore = process.memoryUsage().rss;
  for (const req of samples) {
    const res = await send(app, req);
    byStatus[res.status] = (byStatus[res.status] ?? 0) + 1;
    const type = String(res.headers['content-type'] ?? '');
    const reason =
      res.status < 400 || res.status >= 500
        ? `status ${res.status}`
        : !type.startsWith('application/problem+json')
          ? `content type ${type}`
          : /at \S+ \(|node_modules|\/work\//.test(res.text)
            ? 'internal detail in the body'
            : undefined;
    if (reason) failures.push({ request: describe(req), status: res.status, reason });
  }
  global.gc?.();
  return {
    requests: samples.length,
    byStatus,
    failures,
    rssGrowthMiB: Math.round((process.memoryUsage().rss - rssBefore) / 2 ** 20),
  };
}

function send(app: Express, req: FuzzRequest) {
  let pending = req.method === 'GET' ? request(app).get(req.path) : request(app).post(req.path);
  for (const [k, v] of Object.entries(req.headers)) pending = pending.set(k, v);
  return req.body === undefined ? pending : pending.send(req.body);
}

function describe(req: FuzzRequest): string {
  return `${req.method} ${req.path.slice(0, 80)} ${(req.body ?? '').slice(0, 80)}`;
}
