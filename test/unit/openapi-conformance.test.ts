import { createSagaClient } from '../../api/client';
import { openApiConformance } from '../support/openapi-conformance';

/** The conformance middleware on answers made up here: what the document describes passes, nothing else. */
describe('the OpenAPI conformance middleware', () => {
  const problem = (status: number) => ({
    type: 'https://saga.dev/problems/not-found',
    title: 'Not Found',
    status,
  });
  const clientAnswering = (status: number, body: unknown, contentType = 'application/problem+json') => {
    const conformance = openApiConformance();
    const api = createSagaClient({
      baseUrl: 'http://127.0.0.1:1',
      fetch: async () =>
        new Response(JSON.stringify(body), { status, headers: { 'content-type': contentType } }),
      middleware: [conformance.middleware],
    });
    return { api, conformance };
  };
  const getSaga = (api: ReturnType<typeof createSagaClient>) =>
    api.GET('/sagas/{sagaId}', { params: { path: { sagaId: 'order-1' } } });

  test('a documented status and body pass, and are counted', async () => {
    const { api, conformance } = clientAnswering(404, problem(404));
    const res = await getSaga(api);
    expect(res.error).toEqual(problem(404));
    expect(conformance.checked).toEqual(['GET /sagas/{sagaId} 404 application/problem+json']);
  });

  test('an undocumented status rejects the call', async () => {
    await expect(getSaga(clientAnswering(418, problem(418)).api)).rejects.toThrow(
      'GET /sagas/{sagaId} does not document status 418',
    );
  });

  test('a body that does not match the schema rejects the call, naming the field', async () => {
    await expect(getSaga(clientAnswering(404, { title: 'Not Found' }).api)).rejects.toThrow(
      /404 application\/problem\+json: body does not conform: .*type/,
    );
  });

  test('an undocumented content type rejects the call', async () => {
    await expect(getSaga(clientAnswering(404, problem(404), 'text/html').api)).rejects.toThrow(
      'does not document text/html',
    );
  });

  test('a path the document does not have rejects the call', async () => {
    const { conformance } = clientAnswering(200, {});
    await expect(
      conformance.assertConforms(new Request('http://127.0.0.1:1/admin'), new Response('{}')),
    ).rejects.toThrow('GET /admin is not in the OpenAPI document');
  });
});
