/** The byte transport under a Node session: checking it is one, and closing it within a bound once the session ends. */
import { finished } from 'node:stream'
import { environment } from '../environment.ts'
import type { Duplex } from 'node:stream'

/** A byte transport: `net.Socket`, `tls.TLSSocket`, or any Duplex of bytes. */
export type Transport = Duplex

const METHODS = ['on', 'removeListener', 'write', 'end', 'destroy'] as const

/** Throws a TypeError unless `transport` looks like a Duplex of bytes. */
export function checkTransport (transport: unknown): asserts transport is Transport {
  if (typeof transport !== 'object' || transport === null) {
    throw new TypeError(`yamux needs a Duplex byte stream (a net.Socket, a TLS socket, ...), got ${transport === null ? 'null' : typeof transport}`)
  }
  const candidate = transport as Record<string, unknown>
  for (const method of METHODS) {
    if (typeof candidate[method] !== 'function') {
      throw new TypeError(`yamux needs a Duplex byte stream (a net.Socket, a TLS socket, ...): the transport has no ${method}() method`)
    }
  }
  if (candidate.readableObjectMode === true || candidate.writableObjectMode === true) {
    throw new TypeError('yamux needs a Duplex of bytes: the transport is in object mode')
  }
}

/**
 * Ends `transport` after its session ended, and destroys it once our last
 * bytes (GoAway among them) have left: at once after a failure, when the
 * peer has closed its side too after a clean end, and in any case after
 * `timeout` ms. Its data is read (and dropped) meanwhile, so closing does
 * not turn into a TCP reset that could lose the GoAway. Calls `onClosed`
 * once, when the transport is closed; the timer is released by then.
 */
export function closeTransport (transport: Transport, failed: boolean, timeout: number, onClosed: () => void, log?: (message: string) => void): void {
  let timer: unknown
  let done = false
  const finish = (): void => {
    if (done) { return }
    done = true
    if (timer !== undefined) { environment.clearTimer(timer) }
    timer = undefined
    stopWatching()
    transport.removeListener('finish', onFinish)
    if (transport.destroyed !== true) { transport.destroy() }
    onClosed()
  }
  const onFinish = (): void => { if (failed) { finish() } }
  // a transport already done (destroyed, or closed both ways) reports at once
  const stopWatching = finished(transport, () => { finish() })
  if (done) { return }
  if (transport.destroyed === true) {
    finish()
    return
  }
  transport.on('finish', onFinish)
  if (transport.writableEnded !== true) { transport.end() }
  if (transport.writableFinished === true) { onFinish() }
  if (done) { return }
  transport.resume?.()
  timer = environment.setTimer(() => {
    timer = undefined
    log?.(`yamux: transport not closed ${timeout} ms after the session ended; destroying it`)
    finish()
  }, timeout)
}
