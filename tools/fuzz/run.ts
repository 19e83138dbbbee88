import fc from 'fast-check';
import type { Middleware } from 'openapi-fetch';
import { createSagaClient, untyped } from '../../api/client';
import { fuzzRequests, type FuzzRequest } from './requests';

export interface FuzzReport {
  requests: number;
  byStatus: Record<string, number>;
  failures: { request: string; status: number; reason: string }[];
  rssGrowthMiB: number;
}

export interface FuzzOptions {
  /** Where the API listens. */
  baseUrl: string;
  /** The key the generated requests present when they present a valid one. */
  apiKey: string;
  count: number;
  seed: number;
  /** Run on every request, e.g. the tests' check of responses against the OpenAPI document. */
  middleware?: readonly Middleware[];
}

/**
 * Sends generated hostile requests to the API: every answer must be a 4xx problem+json, never a 5xx or a
 * success. Whether a workflow started is checked by the caller (count before and after).
 */
export async function runFuzz(options: FuzzOptions): Promise<FuzzReport> {
  // Hostile requests are what the document forbids: the API client without its types, and without a
  // credential of its own (each request brings its headers, a missing or wrong key included).
  const api = untyped(createSagaClient({ baseUrl: options.baseUrl, middleware: options.middleware }));
  const samples = fc.sample(fuzzRequests(options.apiKey), { numRuns: options.count, seed: options.seed });
  const byStatus: Record<string, number> = {};
  const failures: FuzzReport['failures'] = [];
  global.gc?.();
  const rssBefore = process.memoryUsage().rss;
  for (const req of samples) {
    let answer: { status: number; type: string; text: string };
    try {
      answer = await send(api, req);
    } catch (error) {
      // A refused connection, or a middleware's verdict (a response the document does not describe).
      failures.push({
        request: describe(req),
        status: 0,
        reason: error instanceof Error ? error.message : String(error),
      });
      continue;
    }
    const { status, type, text } = answer;
    byStatus[status] = (byStatus[status] ?? 0) + 1;
    const reason =
      status < 400 || status >= 500
        ? `status ${status}`
        : !type.startsWith('application/problem+json')
          ? `content type ${type}`
          : /at \S+ \(|node_modules|\/work\//.test(text)
            ? 'internal detail in the body'
            : undefined;
    if (reason) failures.push({ request: describe(req), status, reason });
  }
  global.gc?.();
  return {
    requests: samples.length,
    byStatus,
    failures,
    rssGrowthMiB: Math.round((process.memoryUsage().rss - rssBefore) / 2 ** 20),
  };
}

async function send(api: ReturnType<typeof untyped>, req: FuzzRequest) {
  // The path goes as generated (already percent-encoded, query included); the body as its raw text.
  const init = {
    headers: req.headers,
    parseAs: 'text' as const,
    ...(req.body === undefined ? {} : { body: req.body, bodySerializer: (body: unknown) => body as string }),
  };
  const { response, data, error } = await (req.method === 'GET'
    ? api.GET(req.path, init)
    : api.POST(req.path, init));
  return {
    status: response.status,
    type: response.headers.get('content-type') ?? '',
    text: String(data ?? error ?? ''),
  };
}

function describe(req: FuzzRequest): string {
  return `${req.method} ${req.path.slice(0, 80)} ${(req.body ?? '').slice(0, 80)}`;
}
