/** What the local servers (Azurite, PostgreSQL) share: a free loopback port and waiting for a child's exit. */
import type {ChildProcess} from 'node:child_process'
import {createServer, type AddressInfo} from 'node:net'

/** A port on 127.0.0.1 that is free now (the OS picks it; the caller binds it next). */
export async function freeLoopbackPort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer()
    server.unref()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const {port} = server.address() as AddressInfo
      server.close(() => resolvePort(port))
    })
  })
}

/** Resolves when the child has exited (at once when it already has). */
export function waitForExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolveExit) => child.once('exit', () => resolveExit()))
}

/** The last `limit` characters a child wrote, for the message when it fails to start. */
export class OutputTail {
  private text = ''

  constructor(private readonly limit: number) {}

  push(chunk: Buffer | string): void {
    this.text = (this.text + chunk.toString()).slice(-this.limit)
  }

  toString(): string {
    return this.text.trim()
  }
}
