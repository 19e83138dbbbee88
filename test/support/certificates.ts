import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Throw-away certificates for the TLS tests, made with the `openssl` binary: the standard tool (on every
 * machine that builds this project; no dependency to add), and it makes real X.509 certificates with the
 * SANs, key usages and extended key usages that Go's crypto/tls (the Temporal server), rustls (the
 * worker's core) and Node's TLS all check. EC P-256 keys: quick to generate and accepted by all three.
 */
export interface TestCertificate {
  certFile: string;
  keyFile: string;
}

export interface TestPki {
  /** The CA everything below is issued by. */
  caFile: string;
  /** localhost and 127.0.0.1, for servers (and clients: the Temporal worker service presents it). */
  server: TestCertificate;
  client: TestCertificate;
  /** A client certificate from another CA, which servers trusting `caFile` must refuse. */
  otherCaFile: string;
  otherClient: TestCertificate;
}

function openssl(cwd: string, ...args: string[]): void {
  try {
    execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (error) {
    const { code, stderr } = error as { code?: string; stderr?: Buffer };
    throw new Error(
      code === 'ENOENT'
        ? 'the TLS tests need the openssl binary (apt-get install openssl)'
        : `openssl ${args[0]} failed: ${stderr?.toString().trim().split('\n').pop() ?? 'error'}`,
    );
  }
}

const KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function ca(dir: string, name: string): { cert: string; key: string } {
  openssl(
    dir,
    'req',
    '-x509',
    ...KEY,
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.pem`,
    '-days',
    '2',
    '-subj',
    `/CN=saga test ${name}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  );
  return { cert: path.join(dir, `${name}.pem`), key: path.join(dir, `${name}.key`) };
}

function issue(
  dir: string,
  issuer: { cert: string; key: string },
  name: string,
  extensions: string,
): TestCertificate {
  writeFileSync(path.join(dir, `${name}.ext`), extensions);
  openssl(dir, 'req', ...KEY, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
  openssl(
    dir,
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    issuer.cert,
    '-CAkey',
    issuer.key,
    '-CAcreateserial',
    '-out',
    `${name}.pem`,
    '-days',
    '2',
    '-extfile',
    `${name}.ext`,
  );
  return { certFile: path.join(dir, `${name}.pem`), keyFile: path.join(dir, `${name}.key`) };
}

/** A CA, a server and a client certificate issued by it, and a client certificate of another CA. */
export function generateTestPki(dir: string): TestPki {
  mkdirSync(dir, { recursive: true });
  const main = ca(dir, 'ca');
  const other = ca(dir, 'other-ca');
  const leaf = (usage: string, san = '') =>
    `basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=${usage}\n${san}`;
  return {
    caFile: main.cert,
    server: issue(
      dir,
      main,
      'server',
      leaf('serverAuth,clientAuth', 'subjectAltName=DNS:localhost,IP:127.0.0.1\n'),
    ),
    client: issue(dir, main, 'client', leaf('clientAuth')),
    otherCaFile: other.cert,
    otherClient: issue(dir, other, 'other-client', leaf('clientAuth')),
  };
}
