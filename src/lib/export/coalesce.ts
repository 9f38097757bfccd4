/**
 * Writes made to one stream within a turn of the event loop go out as one writev. An export
 * commits thousands of small objects with a line each in the journal, the manifest and
 * SHA256SUMS; written one syscall at a time, those lines kept the thread pool busy — and on a
 * two-core machine shared with the storage service, that is CPU the downloads need.
 */
import type {Writable} from 'node:stream'

const corked = new WeakSet<Writable>()

/** `stream.write(text)`, corked until the next turn of the event loop; returns what write returns. */
export function writeCoalesced(stream: Writable, text: string): boolean {
  if (!corked.has(stream)) {
    corked.add(stream)
    stream.cork()
    setImmediate(() => {
      corked.delete(stream)
      stream.uncork()
    })
  }
  return stream.write(text)
}
