import { extendZodWithOpenApi } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';

// Zod 4 copies prototype methods when a schema is created, so the OpenAPI extension must come first:
// every schema module imports `z` from here.
extendZodWithOpenApi(z);

export { z };
