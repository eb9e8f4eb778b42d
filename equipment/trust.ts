/**
 * Trusting a controller's certificate in Ampoule's OPC UA PKI, as `bin/ampoule trust-certificate` does it: from the
 * certificate's file, or by the thumbprint of one node-opcua filed under `rejected/` when the controller first
 * presented it. Trusting moves it out of `rejected/` (a copy dropped into `trusted/` beside a rejected one is not
 * enough). A running worker's PKI sees the change through its folder watchers.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { convertPEMtoDER, exploreCertificate, makeSHA1Thumbprint } from 'node-opcua-crypto';
import type { ApplicationPki } from './pki';

export interface CertificateSummary {
  thumbprint: string;
  subject: string;
  validTo: string;
  file?: string;
}

function readDer(file: string): Buffer {
  const raw = readFileSync(file);
  return raw.toString('latin1').includes('-----BEGIN CERTIFICATE-----') ? convertPEMtoDER(raw.toString('utf8')) : raw;
}

export function summarize(der: Buffer, file?: string): CertificateSummary {
  const info = exploreCertificate(der).tbsCertificate;
  const subject = Object.entries(info.subject)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(', ');
  return {
    thumbprint: makeSHA1Thumbprint(der).toString('hex'),
    subject,
    validTo: info.validity.notAfter.toISOString(),
    ...(file ? { file } : {}),
  };
}

/** The certificates node-opcua rejected (presented by peers it did not trust). */
export function rejectedCertificates(pki: ApplicationPki): CertificateSummary[] {
  const folder = pki.certificateManager.rejectedFolder;
  if (!existsSync(folder)) return [];
  return readdirSync(folder)
    .filter((f) => /\.(pem|der)$/i.test(f))
    .map((f) => summarize(readDer(path.join(folder, f)), path.join(folder, f)));
}

/**
 * Trusts a certificate: `fileOrThumbprint` names a certificate file (PEM or DER), or the SHA-1 thumbprint (hex; a
 * unique prefix of at least 8 digits will do; colons and case ignored) of a rejected one. Throws, in words, when
 * neither matches.
 */
export async function trustCertificate(pki: ApplicationPki, fileOrThumbprint: string): Promise<CertificateSummary> {
  if (existsSync(fileOrThumbprint)) {
    const der = readDer(fileOrThumbprint);
    await pki.trust(der);
    return summarize(der);
  }
  const wanted = fileOrThumbprint.replace(/[:\s]/g, '').toLowerCase();
  if (!/^[0-9a-f]{8,40}$/.test(wanted))
    throw new Error(`${fileOrThumbprint} is neither a certificate file nor a thumbprint (8 to 40 hex digits)`);
  const rejected = rejectedCertificates(pki);
  const matches = rejected.filter((c) => c.thumbprint.startsWith(wanted));
  if (matches.length !== 1)
    throw new Error(
      matches.length === 0
        ? `no rejected certificate has the thumbprint ${wanted}; rejected: ${rejected.map((c) => `${c.thumbprint} (${c.subject})`).join('; ') || 'none'}`
        : `${matches.length} rejected certificates begin with ${wanted}: give more digits`,
    );
  await pki.trust(readDer(matches[0].file!));
  return { ...matches[0], file: undefined };
}
