import { execFileSync } from 'node:child_process';
import { sign } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A test certificate authority and signing certificates, made with the openssl
 * command line (node:crypto reads X.509 certificates but cannot issue them).
 */
function makeCertificates(dir: string) {
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const authority = (name: string, subject: string) =>
    ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '30', '-subj', subject);
  const leaf = (name: string, ca: string, days: string) => {
    ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', '/CN=pcnotifications-dispatch.test');
    ssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-out', `${name}.pem`, '-days', days);
    ssl('x509', '-in', `${name}.pem`, '-outform', 'DER', '-out', `${name}.cer`);
  };
  authority('ca', '/O=csp-ops Test CA/CN=csp-ops Test Root');
  // Another issuer's name; and one that copies the test CA's name with its own key.
  authority('other-ca', '/O=Someone Else/CN=Someone Else Root');
  authority('rogue-ca', '/O=csp-ops Test CA/CN=csp-ops Test Root');
  leaf('signer', 'ca', '30');
  leaf('expired', 'ca', '-1'); // notAfter a day ago
  leaf('other', 'other-ca', '30');
  leaf('rogue', 'rogue-ca', '30');
  const key = (name: string) => readFileSync(join(dir, `${name}.key`));
  return { caPath: join(dir, 'ca.pem'), key, der: (name: string) => readFileSync(join(dir, `${name}.cer`)) };
}

/** The certificates, served on loopback as Partner Center serves its signing certificate, and the settings that accept them. */
export async function startCertificateServer() {
  const dir = mkdtempSync(join(tmpdir(), 'csp-ops-pc-certs-'));
  const certs = makeCertificates(dir);
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(req.url ?? '');
    const name = /^\/cert\/([a-z-]+)\.cer$/.exec(req.url ?? '')?.[1];
    if (!name) return res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'application/pkix-cert' }).end(certs.der(name));
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const port = (server.address() as { port: number }).port;
  const origin = `http://127.0.0.1:${port}`;
  const signed = (body: string, key = 'signer') => sign('sha256', Buffer.from(body), certs.key(key)).toString('base64');
  return {
    origin,
    requests,
    signed,
    /** Settings (as the environment gives them) accepting certificates from here issued by the test CA. */
    env: {
      PARTNER_CENTER_WEBHOOKS: 'true',
      PARTNER_CENTER_WEBHOOK_CERT_HOSTS: `127.0.0.1:${port}`,
      PARTNER_CENTER_WEBHOOK_ISSUERS: 'csp-ops Test CA',
      PARTNER_CENTER_WEBHOOK_CA: certs.caPath,
      PARTNER_CENTER_WEBHOOK_ALLOW_HTTP: 'true',
    },
    /** Headers that sign the body with a certificate from here (another key than the certificate's with `key`). */
    signatureHeaders(body: string, options: { cert?: string; key?: string; certUrl?: string } = {}) {
      return {
        'x-ms-signature-algorithm': 'rsa-sha256',
        authorization: `Signature ${signed(body, options.key ?? options.cert ?? 'signer')}`,
        'x-ms-certificate-url': options.certUrl ?? `${origin}/cert/${options.cert ?? 'signer'}.cer`,
      };
    },
    async close() {
      await new Promise((done) => server.close(done));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
