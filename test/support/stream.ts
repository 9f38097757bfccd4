/** A stand-in for stderr that keeps what is written: a terminal (`isTTY`) or a pipe. */
import {Writable} from 'node:stream'

export function recordingStream(isTTY: boolean): {stream: NodeJS.WriteStream; text: () => string} {
  const written: string[] = []
  const stream = new Writable({
    write(chunk, _encoding, done) {
      written.push(String(chunk))
      done()
    },
  }) as unknown as NodeJS.WriteStream
  Object.assign(stream, {isTTY, columns: 80})
  // eslint-disable-next-line no-control-regex -- strip the colours of a terminal rendering
  return {stream, text: () => written.join('').replaceAll(/\u001B\[[\d;]*m/g, '')}
}
