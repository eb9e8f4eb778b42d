/**
 * OPC UA application PKI: a folder (own certificate and key, trusted, rejected, issuers) per application
 * under the data directory. Unknown certificates are rejected — they land in `rejected/` where an
 * administrator can move them to `trusted/` — never accepted automatically.
 */
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { readCertificate } from 'node-opcua-crypto';
import { OPCUACertificateManager } from './opcua';

export interface ApplicationPki {
  certificateManager: OPCUACertificateManager;
  applicationUri: string;
  certificateFile: string;
  privateKeyFile: string;
  /** The application's own certificate (DER). */
  certificate(): Buffer;
  /** Trusts a peer's certificate (DER), as an administrator moving it to `trusted/` would. */
  trust(certificate: Buffer): Promise<void>;
}

/** Opens (creating if needed) the PKI folder of an application and its self-signed certificate. */
export async function openPki(rootFolder: string, applicationName: string): Promise<ApplicationPki> {
  const certificateManager = new OPCUACertificateManager({ rootFolder, automaticallyAcceptUnknownCertificate: false });
  await certificateManager.initialize();
  const host = hostname();
  const applicationUri = `urn:${host}:ampoule:${applicationName}`;
  const certificateFile = path.join(certificateManager.rootDir, 'own', 'certs', 'certificate.pem');
  if (!existsSync(certificateFile)) {
    await certificateManager.createSelfSignedCertificate({
      outputFile: certificateFile,
      subject: `/CN=${applicationName}/O=Ampoule`,
      applicationUri,
      dns: [host, 'localhost'],
      startDate: new Date(),
      validity: 365 * 5,
    });
  }
  return {
    certificateManager,
    applicationUri,
    certificateFile,
    privateKeyFile: certificateManager.privateKey,
    certificate: () => readCertificate(certificateFile),
    trust: (certificate) => certificateManager.trustCertificate(certificate),
  };
}
