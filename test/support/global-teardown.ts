/** Stops what global-setup started (the Temporal dev server, a PostgreSQL cluster of our own, if any). */
export default async function globalTeardown(): Promise<void> {
  await globalThis.__SAGA_TEST_STOP__?.();
}
