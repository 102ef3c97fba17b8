/**
 * The two implementations of the yamux-js API (yamux-js 0.2 itself and
 * libp2p-yamux/yamux-js), seen through one type, and the TCP loopback
 * plumbing and waiting helpers the shared test program uses.
 */
import { once } from 'node:events'
import net from 'node:net'
import { pipeline } from 'node:stream'
import * as yamuxJs from 'yamux-js'
import { Flag, FrameDecoder, FrameType } from '../../src/core/index.ts'
import * as ours from '../../src/yamux-js/index.ts'
import type { Duplex } from 'node:stream'

/** A stream as both implementations have it. */
export type JsStream = Duplex & { ID(): number, close(): void }

/** A session as both implementations have it (yamux-js declares `onStream` protected). */
export interface JsSession extends Duplex {
  onStream?(stream: JsStream): void
  open(): JsStream
  close(error?: Error): void
  isClosed(): boolean
}

export interface JsConfig {
  acceptBacklog?: number
  enableKeepAlive?: boolean
  keepAliveInterval?: number
  connectionWriteTimeout?: number
  maxStreamWindowSize?: number
  logger?(message?: any, ...args: any[]): void
}

export interface Impl {
  name: 'yamux-js' | 'ours'
  Client: new (config?: JsConfig) => JsSession
  Server: new (onStream?: (stream: JsStream) => void, config?: JsConfig) => JsSession
}

export const YAMUX_JS: Impl = {
  name: 'yamux-js',
  Client: yamuxJs.Client as unknown as Impl['Client'],
  Server: yamuxJs.Server as unknown as Impl['Server']
}

export const OURS: Impl = {
  name: 'ours',
  Client: ours.Client as unknown as Impl['Client'],
  Server: ours.Server as unknown as Impl['Server']
}

export const IMPLS = [YAMUX_JS, OURS]

export interface Connected {
  client: JsSession
  server: JsSession
  clientSocket: net.Socket
  serverSocket: net.Socket
  /** 'error' events of each session, in order. */
  errors: { client: Error[], server: Error[] }
  /** What each session's logger was given. */
  logs: { client: string[], server: string[] }
  /** Destroys both sockets and the listener; ends yamux-js's keep-alive timers. */
  teardown(): void
}

export interface ConnectOptions {
  client?: JsConfig
  server?: JsConfig
  onServerStream?(stream: JsStream): void
  /** Attach with `pipeline(socket, session, socket)` instead of `pipe()`. */
  usePipeline?: boolean
  /** Called with each pipeline's result. */
  onPipelineDone?(side: 'client' | 'server', err: Error | null): void
}

/** A listening TCP server on loopback, and a connected socket pair. */
export async function socketPair (): Promise<{ clientSocket: net.Socket, serverSocket: net.Socket, listener: net.Server }> {
  const listener = net.createServer()
  listener.listen(0, '127.0.0.1')
  await once(listener, 'listening')
  const { port } = listener.address() as net.AddressInfo
  const accepted = once(listener, 'connection') as Promise<[net.Socket]>
  const clientSocket = net.connect(port, '127.0.0.1')
  const [serverSocket] = await accepted
  // a session reports what matters; a socket error must not end the test process
  clientSocket.on('error', () => {})
  serverSocket.on('error', () => {})
  // yamux-js writes each frame on its own: with Nagle on, a write behind
  // another waits for a delayed ACK (~40 ms a stream on loopback)
  clientSocket.setNoDelay(true)
  serverSocket.setNoDelay(true)
  return { clientSocket, serverSocket, listener }
}

function attach (session: JsSession, socket: net.Socket, side: 'client' | 'server', options: ConnectOptions): void {
  if (options.usePipeline === true) {
    pipeline(socket, session, socket, (err) => { options.onPipelineDone?.(side, err ?? null) })
  } else {
    session.pipe(socket).pipe(session)
  }
}

/**
 * A Client and a Server over TCP loopback, both of `impl` or one of each.
 * Keep-alive is off unless configured.
 */
export async function connect (impl: Impl | { client: Impl, server: Impl }, options: ConnectOptions = {}): Promise<Connected> {
  const ClientImpl = 'Client' in impl ? impl.Client : impl.client.Client
  const ServerImpl = 'Server' in impl ? impl.Server : impl.server.Server
  const { clientSocket, serverSocket, listener } = await socketPair()
  const logs = { client: [] as string[], server: [] as string[] }
  const errors = { client: [] as Error[], server: [] as Error[] }
  const client = new ClientImpl({ enableKeepAlive: false, logger: (...args: any[]) => logs.client.push(args.join(' ')), ...options.client })
  const server = new ServerImpl(options.onServerStream, { enableKeepAlive: false, logger: (...args: any[]) => logs.server.push(args.join(' ')), ...options.server })
  client.on('error', (err: Error) => errors.client.push(err))
  server.on('error', (err: Error) => errors.server.push(err))
  attach(client, clientSocket, 'client', options)
  attach(server, serverSocket, 'server', options)
  return {
    client,
    server,
    clientSocket,
    serverSocket,
    errors,
    logs,
    teardown: () => {
      clientSocket.destroy()
      serverSocket.destroy()
      listener.close()
      // yamux-js's keep-alive interval only stops in close()
      if (!client.isClosed()) { client.close() }
      if (!server.isClosed()) { server.close() }
    }
  }
}

/** Echoes everything a stream receives, and ends it when the peer ends its side. */
export function echo (stream: JsStream): void {
  stream.on('error', () => {})
  stream.on('data', (data: Buffer) => stream.write(data))
  stream.on('end', () => stream.end())
}

export type Outcome<T> =
  | { kind: 'done', value: T }
  | { kind: 'error', error: Error }
  | { kind: 'stalled' }

/** How long nothing may move before a wedged yamux-js session counts as stalled. */
export const STALL_MS = 1500

/**
 * Waits for `work`; reports 'stalled' if `progress()` stays the same for
 * `STALL_MS` (yamux-js wedges silently: frames split across socket reads are
 * dropped). Ours never gets near it: loopback moves bytes every millisecond.
 */
export async function settle<T> (work: Promise<T>, progress: () => number = () => 0): Promise<Outcome<T>> {
  let timer: ReturnType<typeof setInterval> | undefined
  const stalled = new Promise<Outcome<T>>((resolve) => {
    let last = progress()
    let since = Date.now()
    timer = setInterval(() => {
      const now = progress()
      if (now !== last) {
        last = now
        since = Date.now()
      } else if (Date.now() - since >= STALL_MS) {
        resolve({ kind: 'stalled' })
      }
    }, 50)
  })
  try {
    return await Promise.race([
      work.then((value): Outcome<T> => ({ kind: 'done', value }), (error: Error): Outcome<T> => ({ kind: 'error', error })),
      stalled
    ])
  } finally {
    clearInterval(timer)
  }
}

/** Collects what a stream delivers until `bytes` have arrived. */
export async function receive (stream: Duplex, bytes: number, onProgress?: (n: number) => void): Promise<Buffer> {
  const chunks: Buffer[] = []
  let got = 0
  return new Promise<Buffer>((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk)
      got += chunk.length
      onProgress?.(got)
      if (got >= bytes) {
        stream.off('data', onData)
        stream.off('error', reject)
        resolve(Buffer.concat(chunks))
      }
    }
    stream.on('data', onData)
    stream.once('error', reject)
  })
}

/**
 * A round trip on a fresh stream (the peer must echo it), then one
 * macrotask: once it returns, everything sent before it has been processed
 * by the peer, and the peer's own replies to it have arrived and been
 * processed here. Rejects if the session cannot carry it.
 */
export async function barrier (session: JsSession): Promise<void> {
  const stream = session.open()
  stream.on('error', () => {})
  const back = receive(stream, 1)
  stream.write('b')
  await back
  stream.destroy()
  await new Promise(resolve => setImmediate(resolve))
}

/** Resolves when `emitter` emits `event`, with its first argument. */
export async function event<T = unknown> (emitter: NodeJS.EventEmitter, name: string): Promise<T> {
  const [value] = await once(emitter, name)
  return value as T
}

export interface FrameCounts {
  /** Pings asking for an answer. */
  pings: number
  /** GoAway codes. */
  goAways: number[]
  /** The first frame of each stream: type, flags, length. */
  first: Map<number, { type: number, flags: number, length: number }>
}

/** Decodes the frames a socket receives and counts what the tests look at. */
export function frameCounter (socket: net.Socket): FrameCounts {
  const counts: FrameCounts = { pings: 0, goAways: [], first: new Map() }
  const decoder = new FrameDecoder({
    onHeader (h) {
      if (h.type === FrameType.Ping && (h.flags & Flag.SYN) !== 0) { counts.pings++ }
      if (h.type === FrameType.GoAway) { counts.goAways.push(h.length) }
      if (h.streamId !== 0 && !counts.first.has(h.streamId)) {
        counts.first.set(h.streamId, { type: h.type, flags: h.flags, length: h.length })
      }
    },
    onPayload () {},
    onFrameEnd () {}
  })
  socket.on('data', (chunk: Buffer) => {
    try { decoder.push(chunk) } catch { /* garbage: the session reports it */ }
  })
  return counts
}
