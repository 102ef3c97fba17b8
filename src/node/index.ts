/**
 * @packageDocumentation
 *
 * yamux over any Node.js duplex byte stream (a `net.Socket`, a TLS socket,
 * a WebSocket stream), with no libp2p: hashicorp/yamux's `Client`/`Server`
 * API, streams as Node `Duplex` streams. Node-only, hence its own subpath
 * export. This file is the entry: exports and the two constructors.
 *
 * @example
 *
 * ```TypeScript
 * import net from 'node:net'
 * import { Client, Server } from 'libp2p-yamux/node'
 *
 * net.createServer(async (socket) => {
 *   for await (const stream of Server(socket)) { // ends when the session does
 *     stream.on('error', () => {}) // a reset by the peer
 *     stream.pipe(stream) // echo
 *   }
 * }).listen(4000)
 *
 * const session = Client(net.connect(4000))
 * const stream = await session.open()
 * stream.end('ping')
 * ```
 */
import { YamuxSession } from './session.ts'
import type { Transport } from './transport.ts'
import type { SessionConfig } from '../core/config.ts'

export type { SessionConfig, CoreLogger } from '../core/config.ts'
export * from '../core/errors.ts'
export { GoAwayCode } from '../core/constants.ts'
export { YamuxDuplex, type Deadline } from './duplex.ts'
export { YamuxSession, type YamuxSessionEvents, type WaitOptions } from './session.ts'
export type { Transport } from './transport.ts'

/**
 * Starts the client side of a session (odd stream ids) on `transport`.
 * Throws a TypeError if `transport` is not a Duplex of bytes.
 */
export function Client (transport: Transport, config?: Partial<SessionConfig>): YamuxSession {
  return new YamuxSession(transport, true, config)
}

/**
 * Starts the server side of a session (even stream ids) on `transport`.
 * Throws a TypeError if `transport` is not a Duplex of bytes.
 */
export function Server (transport: Transport, config?: Partial<SessionConfig>): YamuxSession {
  return new YamuxSession(transport, false, config)
}
