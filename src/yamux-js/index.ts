/**
 * @packageDocumentation
 *
 * A drop-in for [yamux-js](https://www.npmjs.com/package/yamux-js) 0.2:
 * the same `Client`/`Server` Transforms, `open()`, `onStream`, `close()`,
 * `isClosed()` and `Config` (timeouts in seconds), running on the protocol
 * core of libp2p-yamux. Migrating is one import:
 *
 * @example
 *
 * ```JavaScript
 * import net from 'node:net'
 * import { Client, Server } from 'libp2p-yamux/yamux-js' // was: from 'yamux-js'
 *
 * net.createServer((socket) => {
 *   socket.on('error', () => {}) // the session reports what matters
 *   const server = new Server((stream) => {
 *     stream.on('error', () => {})
 *     stream.pipe(stream) // echo
 *   })
 *   server.on('error', (err) => console.error('session failed:', err.name))
 *   server.pipe(socket).pipe(server)
 * }).listen(4000)
 *
 * const socket = net.connect(4000)
 * const client = new Client()
 * client.on('error', (err) => console.error('session failed:', err.name))
 * client.pipe(socket).pipe(client)
 *
 * const stream = client.open()
 * stream.on('data', (data) => console.log('echo:', data.toString()))
 * stream.end('hello')
 * ```
 *
 * Unlike yamux-js it keeps frames split across socket reads, stops a writer
 * whose reader is paused, sends FIN on `end()`/`close()` and RST on
 * `destroy()`, reports a peer's FIN as `'end'` and its RST as an `'error'`,
 * and counts only unaccepted streams against `acceptBacklog`.
 */
export { Client, Server, Session, Stream } from './session.ts'
export type { Config, ResolvedConfig } from './config.ts'
export * from '../core/errors.ts'
