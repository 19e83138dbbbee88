/** Turns a connection failure into one line naming the address and the variable that set it. */
export async function connectOrExplain<T>(address: string, connect: () => Promise<T>): Promise<T> {
  try {
    return await connect();
  } catch {
    throw new Error(`Temporal is not reachable at ${address} (TEMPORAL_ADDRESS): is the server running?`);
  }
}
