/** SHA-256 and MD5 of the bytes given, and their count: what every read of an object is checked with. */
import {createHash, type Hash} from 'node:crypto'

export interface VerifiedDigest {
  /** lower-case hex */
  sha256: string
  /** base64, as Content-MD5 is */
  md5: string
  bytes: number
}

export class Digests {
  private readonly sha256: Hash = createHash('sha256')
  private readonly md5: Hash = createHash('md5')
  bytes = 0

  update(chunk: Buffer): void {
    this.sha256.update(chunk)
    this.md5.update(chunk)
    this.bytes += chunk.length
  }

  /** Ends the hashes (call once). */
  result(): VerifiedDigest {
    return {sha256: this.sha256.digest('hex'), md5: this.md5.digest('base64'), bytes: this.bytes}
  }
}
