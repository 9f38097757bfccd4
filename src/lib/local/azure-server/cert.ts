/**
 * The local server's throw-away TLS certificate: self-signed, RSA 2048, SHA-256, valid for
 * `127.0.0.1` and `localhost` only, made fresh at every start and never written to disk here.
 */
import {generateKeyPairSync} from 'node:crypto'

import selfsigned from 'selfsigned'

export interface LocalCertificate {
  /** PEM of the certificate; clients trust exactly this (`tlsOptions: {ca}`) */
  cert: string
  /** PEM of the private key (PKCS#8) */
  key: string
}

export function generateLocalCertificate(): LocalCertificate {
  // Key made by node:crypto (fast, native) and handed to selfsigned, which builds and signs the certificate.
  const pair = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: {type: 'spki', format: 'pem'},
    privateKeyEncoding: {type: 'pkcs8', format: 'pem'},
  })
  const options = {
    keySize: 2048,
    days: 7,
    algorithm: 'sha256',
    keyPair: {privateKey: pair.privateKey, publicKey: pair.publicKey},
    extensions: [
      {name: 'basicConstraints', cA: true},
      {name: 'keyUsage', digitalSignature: true, keyEncipherment: true, keyCertSign: true},
      {name: 'extKeyUsage', serverAuth: true},
      {
        name: 'subjectAltName',
        altNames: [
          {type: 7, ip: '127.0.0.1'},
          {type: 2, value: 'localhost'},
        ],
      },
    ],
  }
  const pems = selfsigned.generate(
    [
      {name: 'commonName', value: '127.0.0.1'},
      {name: 'organizationName', value: 'custos local environment'},
    ],
    options as Parameters<typeof selfsigned.generate>[1],
  )
  return {cert: pems.cert, key: pems.private}
}
