/** SHA-256 and MD5 of the bytes given, and their count: what every read of an object is checked with. */
import {createHash, type Hash} from 'node:crypto'
import {Transform, type TransformCallback} from 'node:stream'

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

/**
 * Passes bytes through unchanged, hashing (SHA-256) and counting them: what a file written as a
 * stream is sealed with (a `.tar.gz` as it is packed, a table's CSV as PostgreSQL copies it out).
 */
export class Sha256PassThrough extends Transform {
  private readonly hash: Hash = createHash('sha256')
  bytes = 0

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk)
    this.bytes += chunk.length
    callback(null, chunk)
  }

  /** Lower-case hex SHA-256 of everything that passed (call once, when the stream has ended). */
  sha256(): string {
    return this.hash.digest('hex')
  }
}
