/**
 * The byte pipes every contender runs over: the in-process timer-free pair
 * (test/fixtures/direct-pair.ts) and real TCP loopback sockets wrapped the
 * way `@libp2p/tcp` wraps them (one `socket.write` per buffer, Nagle off).
 * Both count transport writes at the MessageStream level (`sendData` calls),
 * the same for every contender, and can tap the sent bytes.
 */
import { once } from 'node:events'
import net from 'node:net'
import { defaultLogger } from '@libp2p/logger'
import { AbstractMultiaddrConnection } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { DirectConnection, directPair } from '../test/fixtures/direct-pair.ts'
import type { YamuxFrameTap } from './tap.ts'
import type { AbortOptions, MessageStreamDirection, MultiaddrConnection } from '@libp2p/interface'
import type { SendResult } from '@libp2p/utils'
import type { Uint8ArrayList } from 'uint8arraylist'

export type TransportKind = 'in-process' | 'tcp'

export const TRANSPORTS: TransportKind[] = ['in-process', 'tcp']

export function selectTransports (names: string[]): TransportKind[] {
  return names.length === 0 ? TRANSPORTS : TRANSPORTS.filter(t => names.includes(t))
}

export interface TransportCounters {
  /** MessageStream-level writes (`sendData` calls), both ends. */
  writes: number
  /** Bytes handed to the pipe, both ends. */
  bytes: number
  /** `socket.write` calls, both ends (TCP only; equals `writes` in-process). */
  socketWrites: number
}

export interface TransportPair {
  kind: TransportKind
  dialer: MultiaddrConnection
  listener: MultiaddrConnection
  counters(): TransportCounters
  /** Ends both sides; never throws. */
  close(): Promise<void>
}

export interface TransportOptions {
  /** Taps for the bytes sent by [dialer, listener]. */
  taps?: [YamuxFrameTap, YamuxFrameTap]
}

class TappedDirectConnection extends DirectConnection {
  tap?: YamuxFrameTap

  override sendData (data: Uint8ArrayList): SendResult {
    const tap = this.tap
    if (tap !== undefined) {
      for (const buf of data) { tap.feed(buf) }
    }
    return super.sendData(data)
  }
}

async function closeQuietly (conn: MultiaddrConnection): Promise<void> {
  try {
    await conn.close({ signal: AbortSignal.timeout(2000) })
  } catch (err: any) {
    conn.abort(err)
  }
}

export function inProcessPair (options: TransportOptions = {}): TransportPair {
  let a: DirectConnection
  let b: DirectConnection
  if (options.taps === undefined) {
    [a, b] = directPair() as [DirectConnection, DirectConnection]
  } else {
    const hwm = 4 * 1024 * 1024
    const ta = new TappedDirectConnection('outbound', hwm)
    const tb = new TappedDirectConnection('inbound', hwm)
    ta.peer = tb
    tb.peer = ta
    ta.tap = options.taps[0]
    tb.tap = options.taps[1]
    a = ta
    b = tb
  }
  return {
    kind: 'in-process',
    dialer: a,
    listener: b,
    counters: () => ({ writes: a.writes + b.writes, bytes: a.bytesSent + b.bytesSent, socketWrites: a.writes + b.writes }),
    close: async () => {
      await Promise.all([closeQuietly(a), closeQuietly(b)])
    }
  }
}

/** A MultiaddrConnection over a net.Socket, equivalent to `@libp2p/tcp`'s. */
export class TcpConnection extends AbstractMultiaddrConnection {
  readonly socket: net.Socket
  writes = 0
  socketWrites = 0
  bytesSent = 0
  tap?: YamuxFrameTap

  constructor (socket: net.Socket, direction: MessageStreamDirection) {
    super({
      direction,
      remoteAddr: multiaddr(`/ip4/127.0.0.1/tcp/${socket.remotePort ?? 0}`),
      log: defaultLogger().forComponent(`bench:tcp:${direction}`)
    })
    this.socket = socket
    socket.setNoDelay(true)
    socket.on('data', (buf: Buffer) => { this.onData(buf) })
    socket.on('error', (err) => { this.abort(err) })
    socket.once('end', () => { this.onTransportClosed() })
    socket.once('close', (hadError) => {
      if (hadError) {
        this.abort(new Error('TCP transmission error'))
        return
      }
      this.onTransportClosed()
    })
    socket.on('drain', () => { this.safeDispatchEvent('drain') })
  }

  sendData (data: Uint8ArrayList): SendResult {
    this.writes++
    let sentBytes = 0
    let canSendMore = true
    for (const buf of data) {
      this.tap?.feed(buf)
      this.socketWrites++
      sentBytes += buf.byteLength
      canSendMore = this.socket.write(buf)
      if (!canSendMore) { break }
    }
    this.bytesSent += sentBytes
    return { sentBytes, canSendMore }
  }

  async sendClose (options?: AbortOptions): Promise<void> {
    if (this.socket.destroyed) { return }
    this.socket.destroySoon()
    await once(this.socket, 'close', { signal: options?.signal })
  }

  sendReset (): void {
    this.socket.destroy()
  }

  sendPause (): void {
    this.socket.pause()
  }

  sendResume (): void {
    this.socket.resume()
  }
}

export async function tcpPair (options: TransportOptions = {}): Promise<TransportPair> {
  const server = net.createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const address = server.address()
  if (address === null || typeof address === 'string') { throw new Error('no TCP address') }
  const accepted = once(server, 'connection') as Promise<[net.Socket]>
  const client = net.connect(address.port, '127.0.0.1')
  await once(client, 'connect')
  const [serverSocket] = await accepted
  server.close()
  const a = new TcpConnection(client, 'outbound')
  const b = new TcpConnection(serverSocket, 'inbound')
  a.tap = options.taps?.[0]
  b.tap = options.taps?.[1]
  return {
    kind: 'tcp',
    dialer: a,
    listener: b,
    counters: () => ({ writes: a.writes + b.writes, bytes: a.bytesSent + b.bytesSent, socketWrites: a.socketWrites + b.socketWrites }),
    close: async () => {
      await Promise.all([closeQuietly(a), closeQuietly(b)])
      client.destroy()
      serverSocket.destroy()
    }
  }
}

export async function makeTransport (kind: TransportKind, options: TransportOptions = {}): Promise<TransportPair> {
  return kind === 'tcp' ? tcpPair(options) : inProcessPair(options)
}
