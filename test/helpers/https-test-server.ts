// A local HTTPS server with a throwaway CA made at test time with the openssl CLI. Tests
// reach it only by trusting its CA and by listing 127.0.0.1 as a trusted CIDR, the same
// knobs an operator has; the SSRF guard itself is never relaxed for them.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** Names the server certificate is valid for; tests map the .test ones with an injected resolver. */
export const TEST_SERVER_NAMES = ['localhost', 'pinned.test', 'other.test'];

export interface HttpsTestServer {
  readonly port: number;
  readonly caPem: string;
  /** File holding the CA, for NODE_EXTRA_CA_CERTS in child processes. */
  readonly caFile: string;
  url(pathAndQuery: string, host?: string): string;
  close(): Promise<void>;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: 'pipe' });
}

function makeCertificates(dir: string): void {
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'ca.key'], dir);
  openssl(
    ['req', '-x509', '-new', '-key', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=thetazero sandbox test CA',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
    dir,
  );
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'server.key'], dir);
  openssl(['req', '-new', '-key', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost'], dir);
  const san = [...TEST_SERVER_NAMES.map((n) => `DNS:${n}`), 'IP:127.0.0.1'].join(',');
  writeFileSync(
    path.join(dir, 'server.ext'),
    `subjectAltName=${san}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature\n`,
  );
  openssl(
    ['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem',
      '-days', '2', '-extfile', 'server.ext'],
    dir,
  );
}

/**
 * Routes: /json (JSON body with items), /text, /echo (method, headers, body back as JSON),
 * /redirect?to=URL&status=302, /loop (redirects to itself forever), /big?bytes=N, /slow?ms=N.
 */
export async function startHttpsTestServer(): Promise<HttpsTestServer> {
  const dir = mkdtempSync(path.join(tmpdir(), 'tz-https-'));
  makeCertificates(dir);
  const caPem = readFileSync(path.join(dir, 'ca.pem'), 'utf8');
  const server = https.createServer(
    { key: readFileSync(path.join(dir, 'server.key')), cert: readFileSync(path.join(dir, 'server.pem')) },
    (req, res) => {
      const url = new URL(req.url ?? '/', 'https://localhost');
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const json = (status: number, body: unknown) => {
          res.writeHead(status, { 'content-type': 'application/json' });
          res.end(JSON.stringify(body));
        };
        switch (url.pathname) {
          case '/json':
            return json(200, { items: [1, 2, 3], source: 'test-server' });
          case '/text':
            res.writeHead(200, { 'content-type': 'text/plain' });
            return res.end('plain text');
          case '/echo':
            return json(200, { method: req.method, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
          case '/redirect':
            res.writeHead(Number(url.searchParams.get('status') ?? 302), { location: url.searchParams.get('to') ?? '/json' });
            return res.end();
          case '/loop':
            res.writeHead(302, { location: '/loop' });
            return res.end();
          case '/big':
            res.writeHead(200, { 'content-type': 'text/plain' });
            return res.end('x'.repeat(Number(url.searchParams.get('bytes') ?? 1024)));
          case '/slow':
            setTimeout(() => json(200, { slow: true }), Number(url.searchParams.get('ms') ?? 1000)).unref();
            return;
          default:
            return json(404, { error: 'not found' });
        }
      });
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    caPem,
    caFile: path.join(dir, 'ca.pem'),
    url: (pathAndQuery, host = 'localhost') => `https://${host}:${port}${pathAndQuery}`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
