import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import type { Middleware } from 'openapi-fetch';
import { buildOpenApiDocument } from '../../api/openapi';

type Doc = ReturnType<typeof buildOpenApiDocument>;

/**
 * Checks that every response a client receives is one the OpenAPI document describes: the path and method
 * exist, the status is listed, and the body validates against the listed schema (JSON Schema 2020-12).
 * Used as an openapi-fetch middleware, so a call through the test client that gets an undocumented answer
 * rejects (the test fails), whether the call was typed or deliberately malformed.
 */
export function openApiConformance(doc: Doc = buildOpenApiDocument()) {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  const compiled = new Map<string, ReturnType<typeof ajv.compile>>();
  // The real path, not openapi-fetch's schemaPath: an untyped call has no template to report.
  const templates = Object.keys(doc.paths ?? {}).map((template) => ({
    template,
    pattern: new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`),
  }));
  const checked: string[] = [];

  async function assertConforms(request: Request, response: Response): Promise<void> {
    const { method } = request;
    const path = new URL(request.url).pathname;
    const match = templates.find((t) => t.pattern.test(path));
    if (!match) throw new Error(`${method} ${path} is not in the OpenAPI document`);
    const operation = (doc.paths as Record<string, Record<string, { responses: Record<string, unknown> }>>)[
      match.template
    ]?.[method.toLowerCase()];
    if (!operation) throw new Error(`${method} ${match.template} is not in the OpenAPI document`);
    const documented = operation.responses[String(response.status)] as
      { content?: Record<string, { schema: unknown }> } | undefined;
    if (!documented)
      throw new Error(`${method} ${match.template} does not document status ${response.status}`);
    const contentType = (response.headers.get('content-type') ?? '').split(';')[0] as string;
    const media = documented.content?.[contentType];
    if (!media)
      throw new Error(`${method} ${match.template} ${response.status} does not document ${contentType}`);
    const key = `${method} ${match.template} ${response.status} ${contentType}`;
    let validate = compiled.get(key);
    if (!validate) {
      validate = ajv.compile({ ...(media.schema as object), components: doc.components });
      compiled.set(key, validate);
    }
    const text = await response.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new Error(`${key}: body is not JSON: ${text.slice(0, 200)}`);
    }
    if (!validate(body)) {
      throw new Error(`${key}: body does not conform: ${ajv.errorsText(validate.errors)}`);
    }
    checked.push(key);
  }

  /** Checks each response (a clone: the caller still reads the body) before the client hands it back. */
  const middleware: Middleware = {
    async onResponse({ request, response }) {
      await assertConforms(request, response.clone());
    },
  };

  return { assertConforms, middleware, checked };
}
