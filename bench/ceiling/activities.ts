/** The ceiling's activities do nothing: what remains of a step is Temporal's dispatch and the SDK. */
export async function noop(): Promise<void> {
  // Intentionally empty.
}

export type CeilingActivities = { noop: typeof noop };
