/**
 * Lines written to one stream go out together: the stream is corked on the first write and
 * uncorked after {@link FLUSH_MS}, or at once when a write fills its buffer. An export commits
 * thousands of small objects with a line each in the journal, the manifest and SHA256SUMS; written
 * one system call at a time (or even one per event-loop turn, about three per object) those lines
 * kept the thread pool busy — and on a two-core machine shared with the storage service, that is
 * CPU the downloads need.
 *
 * A kill loses at most the last {@link FLUSH_MS} of journal lines; resume already copes with files
 * whose journal line was lost (they are hashed again, not downloaded again).
 */
import type {Writable} from 'node:stream'

const FLUSH_MS = 25

const corked = new WeakSet<Writable>()

/** `stream.write(text)`, corked for up to {@link FLUSH_MS}; returns what write returns. */
export function writeCoalesced(stream: Writable, text: string): boolean {
  if (!corked.has(stream)) {
    corked.add(stream)
    stream.cork()
    setTimeout(() => flush(stream), FLUSH_MS).unref()
  }

  const ok = stream.write(text)
  // A full buffer: whoever waits for 'drain' should not wait for the timer.
  if (!ok) flush(stream)
  return ok
}

function flush(stream: Writable): void {
  if (!corked.delete(stream)) return
  stream.uncork()
}
