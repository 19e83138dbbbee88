/**
 * The typed client of the Saga API: openapi-fetch over the types that openapi-typescript generates from the
 * OpenAPI document (api/client/openapi.d.ts, `npm run generate:client`). The tests, the bench, chaos and
 * fuzz call the API through it, so a route, parameter or body the document does not describe is a type
 * error, and a response it does not describe fails the tests (test/support/openapi-conformance.ts).
 */
import createClient, { type Client, type Middleware } from 'openapi-fetch';
import type { components, paths } from './openapi';

export type { components, operations, paths } from './openapi';
export type SagaClient = Client<paths>;
export type Schemas = components['schemas'];

export interface SagaClientOptions {
  /** Where the API listens, e.g. http://127.0.0.1:3000 */
  baseUrl: string;
  /** An API key (API_KEYS) or a JWT of the configured issuer: both are sent as a bearer token. */
  token?: string;
  /** Another fetch (default: the global one), e.g. one that trusts a test CA. */
  fetch?: (request: Request) => Promise<Response>;
  /** Run on every request and response, e.g. a check of responses against the document. */
  middleware?: readonly Middleware[];
}

export function createSagaClient(options: SagaClientOptions): SagaClient {
  const client = createClient<paths>({
    baseUrl: options.baseUrl,
    ...(options.fetch ? { fetch: options.fetch } : {}),
    ...(options.token ? { headers: { Authorization: `Bearer ${options.token}` } } : {}),
  });
  if (options.middleware?.length) client.use(...options.middleware);
  return client;
}

/** A client whose paths, parameters and bodies are not checked: the same base URL, credential and middleware. */
export type UntypedSagaClient = Client<Record<string, Record<'get' | 'post', AnyOperation>>>;

/** An operation that takes any parameters and body and may answer anything. */
interface AnyOperation {
  parameters: {
    query?: Record<string, unknown>;
    header?: Record<string, string>;
    path?: Record<string, unknown>;
  };
  requestBody?: { content: { [media: string]: unknown } };
  responses: { [status: number]: { content: { [media: string]: unknown } } };
}

/**
 * The same client without its types, for callers whose job is to send what the document forbids (fuzzers,
 * tests of malformed input): requests go through the same base URL, credential and middleware. A raw body
 * goes with `bodySerializer: () => text` and its own Content-Type header.
 */
export function untyped(client: SagaClient): UntypedSagaClient {
  return client as unknown as UntypedSagaClient;
}

/** Request options that send `text` as the body unchanged, as `contentType` (for an untyped client). */
export function rawBody(text: string, contentType = 'application/json') {
  return {
    body: text,
    bodySerializer: (body: unknown) => body as string,
    headers: { 'Content-Type': contentType },
  };
}
