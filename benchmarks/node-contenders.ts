/**
 * The contenders of the Node.js API scenarios, all over real TCP loopback
 * sockets: the bare socket (no muxer), `libp2p-yamux/node`, our yamux-js
 * drop-in (`libp2p-yamux/yamux-js`) and yamux-js 0.2 itself. Keep-alive off,
 * stream limits raised above every scenario's stream count.
 */
import * as yamuxJs from 'yamux-js'
import { Client as NodeClient, Server as NodeServer } from '../src/node/index.ts'
import * as ourYamuxJs from '../src/yamux-js/index.ts'
import type { YamuxSession } from '../src/node/index.ts'
import type net from 'node:net'
import type { Duplex } from 'node:stream'

/** Both ends of one muxed connection. */
export interface NodeMuxPair {
  open(): Promise<Duplex>
  /** Hands each stream the listener side accepts to `handler`. */
  onStream(handler: (stream: Duplex) => void): void
  /** Ends both sessions; never throws. */
  close(): void
}

export interface NodeMuxContender {
  kind: 'node-muxer'
  name: string
  label: string
  connect(dialer: net.Socket, listener: net.Socket, streamLimit: number): NodeMuxPair
}

export interface SocketContender {
  kind: 'socket'
  name: 'socket'
  label: string
}

export type NodeContender = SocketContender | NodeMuxContender

export const SOCKET: SocketContender = { kind: 'socket', name: 'socket', label: 'bare TCP socket' }

function quietly (fn: () => void): void {
  try { fn() } catch { /* already closed */ }
}

export const NODE_API: NodeMuxContender = {
  kind: 'node-muxer',
  name: 'node',
  label: 'libp2p-yamux/node',
  connect: (dialer, listener, limit) => {
    const config = { enableKeepAlive: false, maxInboundStreams: limit, maxOutboundStreams: limit, acceptBacklog: limit }
    const client: YamuxSession = NodeClient(dialer, config)
    const server: YamuxSession = NodeServer(listener, config)
    return {
      open: async () => client.open(),
      onStream: (handler) => {
        void (async () => {
          try {
            for (;;) { handler(await server.accept()) }
          } catch {
            // the session ended
          }
        })()
      },
      close: () => {
        quietly(() => { client.close() })
        quietly(() => { server.close() })
      }
    }
  }
}

interface JsLikeSession extends Duplex {
  onStream?(stream: Duplex): void
  open(): Duplex
  close(): void
}

function yamuxJsStyle (name: string, label: string, make: (client: boolean, limit: number) => JsLikeSession): NodeMuxContender {
  return {
    kind: 'node-muxer',
    name,
    label,
    connect: (dialer, listener, limit) => {
      const client = make(true, limit)
      const server = make(false, limit)
      for (const [session, socket] of [[client, dialer], [server, listener]] as const) {
        session.on('error', () => {})
        session.pipe(socket).pipe(session)
      }
      return {
        open: async () => client.open(),
        onStream: (handler) => { server.onStream = handler },
        close: () => {
          quietly(() => { client.close() })
          quietly(() => { server.close() })
        }
      }
    }
  }
}

export const OUR_YAMUX_JS = yamuxJsStyle('yamux-js-ours', 'libp2p-yamux/yamux-js', (client, limit) => {
  const config = { enableKeepAlive: false, acceptBacklog: limit, maxInboundStreams: limit, maxOutboundStreams: limit }
  return (client ? new ourYamuxJs.Client(config) : new ourYamuxJs.Server(undefined, config)) as unknown as JsLikeSession
})

export const YAMUX_JS = yamuxJsStyle('yamux-js', 'yamux-js 0.2', (client) => {
  // its acceptBacklog counts every stream the session ever had: lift it
  const config = { enableKeepAlive: false, acceptBacklog: 1e9, logger: () => {} }
  return (client ? new yamuxJs.Client(config) : new yamuxJs.Server(() => {}, config)) as unknown as JsLikeSession
})

/** In report order: the bare socket first. */
export const ALL_NODE_CONTENDERS: NodeContender[] = [SOCKET, NODE_API, OUR_YAMUX_JS, YAMUX_JS]

export function selectNodeContenders (names: string[]): NodeContender[] {
  if (names.length === 0) { return ALL_NODE_CONTENDERS }
  return ALL_NODE_CONTENDERS.filter(c => names.includes(c.name))
}
