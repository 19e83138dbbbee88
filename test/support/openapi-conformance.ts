import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import type { Response, Test } from 'supertest';
import { buildOpenApiDocument } from '../../api/openapi';

type Doc = ReturnType<typeof buildOpenApiDocument>;

/**
 * Checks that a response the tests received is one the OpenAPI document describes: the path and method
 * exist, the status is listed, and the body validates against the listed schema (JSON Schema 2020-12).
 */
export function openApiConformance(doc: Doc = buildOpenApiDocument()) {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  const compiled = new Map<string, ReturnType<typeof ajv.compile>>();
  const templates = Object.keys(doc.paths ?? {}).map((template) => ({
    template,
    pattern: new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`),
  }));
  const checked: string[] = [];

  function assertConforms(res: Response): void {
    const req = (res as unknown as { req: { method: string; path: string } }).req;
    const path = req.path.split('?')[0] as string;
    const match = templates.find((t) => t.pattern.test(path));
    if (!match) throw new Error(`${req.method} ${path} is not in the OpenAPI document`);
    const operation = (doc.paths as Record<string, Record<string, { responses: Record<string, unknown> }>>)[
      match.template
    ]?.[req.method.toLowerCase()];
    if (!operation) throw new Error(`${req.method} ${match.template} is not in the OpenAPI document`);
    const response = operation.responses[String(res.status)] as
      { content?: Record<string, { schema: unknown }> } | undefined;
    if (!response) throw new Error(`${req.method} ${match.template} does not document status ${res.status}`);
    const contentType = String(res.headers['content-type'] ?? '').split(';')[0] as string;
    const media = response.content?.[contentType];
    if (!media)
      throw new Error(`${req.method} ${match.template} ${res.status} does not document ${contentType}`);
    const key = `${req.method} ${match.template} ${res.status} ${contentType}`;
    let validate = compiled.get(key);
    if (!validate) {
      validate = ajv.compile({ ...(media.schema as object), components: doc.components });
      compiled.set(key, validate);
    }
    if (!validate(res.body)) {
      throw new Error(`${key}: body does not conform: ${ajv.errorsText(validate.errors)}`);
    }
    checked.push(key);
  }

  /** Sends a supertest request and checks its response against the document before handing it back. */
  async function send(pending: Test): Promise<Response> {
    const res = await pending;
    assertConforms(res);
    return res;
  }

  return { assertConforms, send, checked };
}
