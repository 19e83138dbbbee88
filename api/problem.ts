import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import { status as grpcStatus } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { z } from '../shared/zod';
import { grpcCodeOf } from './grpc-status';

/**
 * Every error leaves the API as application/problem+json (RFC 9457), naming the field and the rule.
 * Nothing internal (stack, hostname, cause chain) is ever put in a response.
 */
export const fieldErrorSchema = z.object({
  field: z.string(),
  rule: z.string(),
  message: z.string(),
});

export const problemSchema = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  detail: z.string().optional(),
  instance: z.string().optional(),
  errors: z.array(fieldErrorSchema).optional(),
});

export type Problem = z.infer<typeof problemSchema>;
export type FieldError = z.infer<typeof fieldErrorSchema>;

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** Thrown by handlers to answer with a problem; the error middleware renders it. */
export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly slug: string,
    detail: string,
    readonly errors?: FieldError[],
  ) {
    super(detail);
  }
}

export function sendProblem(res: Response, problem: HttpProblem, instance?: string): void {
  const body: Problem = {
    type: `https://saga.dev/problems/${problem.slug}`,
    title: TITLES[problem.status] ?? 'Error',
    status: problem.status,
    detail: problem.message,
    ...(instance ? { instance } : {}),
    ...(problem.errors ? { errors: problem.errors } : {}),
  };
  res.status(problem.status).type('application/problem+json').json(body);
}

export function fieldErrors(error: z.ZodError, prefix: string): FieldError[] {
  return error.issues.map((issue) => ({
    field: [prefix, ...issue.path.map(String)].filter(Boolean).join('.') || prefix,
    rule: issue.code,
    message: issue.message,
  }));
}

export function validationProblem(
  error: z.ZodError,
  where: 'body' | 'query' | 'path' | 'header',
): HttpProblem {
  const errors = fieldErrors(error, where);
  const first = errors[0];
  const detail = first ? `${first.field}: ${first.message}` : 'invalid request';
  return new HttpProblem(where === 'body' ? 422 : 400, 'validation-error', detail, errors);
}

const TEMPORAL_RETRY_AFTER_SECONDS = 5;

/** Temporal down or not answering is the server side's fault, for a while: 503, never a 4xx or a 500. */
function temporalUnreachable(error: unknown): boolean {
  const code = grpcCodeOf(error);
  return code === grpcStatus.UNAVAILABLE || code === grpcStatus.DEADLINE_EXCEEDED;
}

/** Maps body-parser's own errors (malformed JSON, too large) and anything unexpected to problems. */
export function problemMiddleware(onUnexpected: (error: unknown) => void): ErrorRequestHandler {
  return (error: unknown, req, res, _next) => {
    if (error instanceof HttpProblem) return sendProblem(res, error, req.originalUrl);
    const parserType = (error as { type?: unknown }).type;
    if (parserType === 'entity.parse.failed') {
      return sendProblem(
        res,
        new HttpProblem(400, 'malformed-json', 'request body is not valid JSON'),
        req.originalUrl,
      );
    }
    if (parserType === 'entity.too.large') {
      return sendProblem(
        res,
        new HttpProblem(413, 'body-too-large', 'request body exceeds the size limit'),
        req.originalUrl,
      );
    }
    if (
      (typeof parserType === 'string' && parserType.startsWith('encoding.')) ||
      parserType === 'charset.unsupported'
    ) {
      return sendProblem(
        res,
        new HttpProblem(415, 'unsupported-encoding', 'unsupported body encoding or charset'),
        req.originalUrl,
      );
    }
    if (temporalUnreachable(error)) {
      res.set('Retry-After', String(TEMPORAL_RETRY_AFTER_SECONDS));
      return sendProblem(
        res,
        new HttpProblem(503, 'temporal-unavailable', 'Temporal is not reachable; retry later'),
        req.originalUrl,
      );
    }
    onUnexpected(error);
    sendProblem(res, new HttpProblem(500, 'internal-error', 'an internal error occurred'), req.originalUrl);
  };
}

/**
 * The last handlers of an app: unknown routes answer 404, and any error becomes problem+json; the
 * unexpected ones are logged by type and message only (no stack traces, no request data).
 */
export function finalHandlers(logger: Pick<Logger, 'error'>): [RequestHandler, ErrorRequestHandler] {
  return [
    (req, res) =>
      sendProblem(
        res,
        new HttpProblem(404, 'not-found', `no route ${req.method} ${req.path}`),
        req.originalUrl,
      ),
    problemMiddleware((error) =>
      logger.error(
        { err: { type: (error as Error)?.name, message: (error as Error)?.message } },
        'unexpected error',
      ),
    ),
  ];
}
