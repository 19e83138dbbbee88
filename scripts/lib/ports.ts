import net from 'node:net';

/** A port the OS says is free right now (for test servers on spare ports). */
export async function freePort(): Promise<number> {
  const [port] = await freePorts(1);
  return port as number;
}

/**
 * Several distinct free ports. All are held open until the last is chosen, so the OS cannot hand out
 * the same one twice, as separate freePort() calls occasionally can.
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers: net.Server[] = [];
  try {
    for (let i = 0; i < count; i += 1) {
      const server = net.createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => resolve());
      });
    }
    return servers.map((server) => (server.address() as net.AddressInfo).port);
  } finally {
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  }
}

export type PortCheck = { free: true } | { free: false; reason: string };

/**
 * Whether a server could listen on host:port. Binding tells more than connecting: it also catches a
 * listener on another address of the same port (0.0.0.0, ::) and an address this host does not have.
 * Connecting afterwards (only to this host: the bind worked) catches a listener that set SO_REUSEPORT.
 */
export async function checkPort(port: number, host = '127.0.0.1'): Promise<PortCheck> {
  const bound = await new Promise<PortCheck>((resolve) => {
    const server = net.createServer();
    server.once('error', (error: NodeJS.ErrnoException) => {
      resolve({
        free: false,
        reason: error.code === 'EADDRINUSE' ? 'in use' : (error.code ?? error.message),
      });
    });
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve({ free: true })));
  });
  if (!bound.free) return bound;
  return (await accepts(port, clientHost(host))) ? { free: false, reason: 'in use' } : bound;
}

/** Whether something already listens on host:port. */
export async function portInUse(port: number, host = '127.0.0.1'): Promise<boolean> {
  const check = await checkPort(port, host);
  return !check.free && check.reason === 'in use';
}

/** Throws one line naming the port and the setting that chose it, unless host:port is free. */
export async function assertPortFree(port: number, host: string, setting: string): Promise<void> {
  const check = await checkPort(port, host);
  if (check.free) return;
  if (check.reason === 'in use') {
    throw new Error(`port ${port} is in use (${setting}): stop what uses it or choose another port`);
  }
  throw new Error(`cannot listen on ${host}:${port} (${setting}): ${check.reason}`);
}

async function accepts(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    socket.setTimeout(1000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}

/** "127.0.0.1:7233" -> { host, port }, as TEMPORAL_ADDRESS is written. */
export function splitHostPort(address: string): { host: string; port: number } {
  const at = address.lastIndexOf(':');
  const host = address.slice(0, at).replace(/^\[(.*)\]$/, '$1');
  const portText = address.slice(at + 1);
  const port = Number(portText);
  if (at <= 0 || !host || !/^\d+$/.test(portText) || port > 65535) {
    throw new Error(`"${address}" is not host:port`);
  }
  return { host, port };
}

/** The address clients use for a server bound to `host`: a wildcard bind is reached on loopback. */
export function clientHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '::1';
  return host;
}
