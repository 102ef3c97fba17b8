/**
 * The byte pipes every contender runs over: the in-process timer-free pair
 * (test/fixtures/direct-pair.ts) and a real `@libp2p/tcp` connection over
 * loopback (the transport dials its own listener; no encryption). Both can
 * count transport writes at the MessageStream level (`sendData` calls), the
 * same for every contender, and tap the sent bytes.
 */
import { defaultLogger } from '@libp2p/logger'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { DirectConnection, directPair } from '../test/fixtures/direct-pair.ts'
import { deferred } from './harness.ts'
import type { YamuxFrameTap } from './tap.ts'
import type { Connection, MultiaddrConnection, Upgrader } from '@libp2p/interface'
import type { SendResult } from '@libp2p/utils'
import type { Socket } from 'node:net'
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
  /** `socket.write` calls, both ends (TCP; equals `writes` in-process). */
  socketWrites: number
  /** Socket reads ('data' events) of more than a header, both ends (TCP; 0 in-process). */
  socketReads: number
  /** Of those, reads shorter than 64 KiB: the kernel had no more queued. */
  shortReads: number
}

/** libuv reads into 64 KiB buffers: a read is short when the queue ran dry. */
export const FULL_READ = 64 * 1024
/** Reads this small are control frames (window updates, pongs), not data. */
const CONTROL_READ = 100

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
  /**
   * Count writes on the TCP pair (wraps `sendData` and `socket.write` on the
   * instances; left off for throughput runs). The in-process pair always counts.
   */
  count?: boolean
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
    counters: () => ({ writes: a.writes + b.writes, bytes: a.bytesSent + b.bytesSent, socketWrites: a.writes + b.writes, socketReads: 0, shortReads: 0 }),
    close: async () => {
      await Promise.all([closeQuietly(a), closeQuietly(b)])
    }
  }
}

/** What the benchmark needs of `@libp2p/tcp`'s (unexported) connection class. */
interface RealTcpConnection extends MultiaddrConnection {
  socket: Socket
  sendData(data: Uint8ArrayList): SendResult
}

/**
 * Counts the `sendData` calls of a real `@libp2p/tcp` connection and the
 * `socket.write` calls they make, and feeds the written bytes to a tap, by
 * wrapping both on the instance (the connection's own code still runs).
 */
function instrument (conn: RealTcpConnection, counters: TransportCounters, tap?: YamuxFrameTap): void {
  const sendData = conn.sendData.bind(conn)
  conn.sendData = (data) => {
    counters.writes++
    return sendData(data)
  }
  const socket = conn.socket
  socket.on('data', (buf: Uint8Array) => {
    if (buf.byteLength <= CONTROL_READ) { return }
    counters.socketReads++
    if (buf.byteLength < FULL_READ) { counters.shortReads++ }
  })
  const write = socket.write.bind(socket) as (chunk: Uint8Array, ...rest: any[]) => boolean
  socket.write = ((chunk: Uint8Array, ...rest: any[]): boolean => {
    counters.socketWrites++
    counters.bytes += chunk.byteLength
    tap?.feed(chunk)
    return write(chunk, ...rest)
  }) as typeof socket.write
}

/**
 * The messages a real upgrade exchanges on a fresh connection before the
 * muxer runs, by who sends them and their size: multistream-select for the
 * encrypter, a noise XX handshake, multistream-select for the muxer (three
 * round trips, dialer first). The bytes are not the real ones; the round
 * trips are what matters. A muxer started on a raw loopback connection at
 * once can leave Linux's receive-buffer auto-tuning stuck at ~140 KB for the
 * rest of a run, which a real (upgraded) connection never shows: see
 * "A fresh loopback connection" in benchmarks/README.md.
 */
export const UPGRADE_EXCHANGE: Array<['dialer' | 'listener', number]> = [
  ['dialer', 28], ['listener', 28],
  ['dialer', 32], ['listener', 96],
  ['dialer', 64], ['listener', 32]
]

/**
 * Resolves once `conn` has received `bytes` more bytes. What came in the
 * same read after them is the peer's muxer already talking (its first ping,
 * say): it goes back to the connection for the muxer, as libp2p's upgrader
 * hands it on. Dropping it lost the listener's first ping whenever the two
 * came in one read: its RTT was never measured and its windows never grew
 * past 1 MiB.
 */
async function receive (conn: MultiaddrConnection, bytes: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    let got = 0
    const onMessage = (evt: { data: Uint8Array | Uint8ArrayList }): void => {
      const before = got
      got += evt.data.byteLength
      if (got < bytes) { return }
      conn.removeEventListener('message', onMessage)
      conn.removeEventListener('close', onClose)
      if (got > bytes) {
        const start = bytes - before
        conn.unshift(evt.data instanceof Uint8Array ? evt.data.subarray(start) : evt.data.sublist(start))
      }
      resolve()
    }
    const onClose = (): void => {
      conn.removeEventListener('message', onMessage)
      reject(new Error('connection closed during the upgrade exchange'))
    }
    conn.addEventListener('message', onMessage)
    conn.addEventListener('close', onClose, { once: true })
  })
}

/**
 * Plays one side of UPGRADE_EXCHANGE on `conn`. Skipped with
 * BENCH_TCP_FRESH=1 (the muxer then starts on the connection at once).
 */
export async function imitateUpgrade (conn: MultiaddrConnection, side: 'dialer' | 'listener'): Promise<void> {
  if (process.env.BENCH_TCP_FRESH === '1') { return }
  for (const [from, bytes] of UPGRADE_EXCHANGE) {
    if (from === side) {
      conn.send(new Uint8Array(bytes))
    } else {
      await receive(conn, bytes)
    }
  }
}

/**
 * A stand-in for libp2p's upgrader: exchanges what an upgrade would
 * (imitateUpgrade), then hands over the raw connection that `@libp2p/tcp`
 * built instead of encrypting and muxing it.
 */
export function captureUpgrader (onInbound: (conn: MultiaddrConnection) => void): Upgrader {
  const upgrader: Pick<Upgrader, 'upgradeInbound' | 'upgradeOutbound'> = {
    upgradeInbound: async (conn) => {
      await imitateUpgrade(conn, 'listener')
      onInbound(conn)
    },
    upgradeOutbound: async (conn) => {
      await imitateUpgrade(conn, 'dialer')
      return conn as unknown as Connection
    }
  }
  return upgrader as Upgrader
}

/**
 * Two ends of a real `@libp2p/tcp` connection in this process: the TCP
 * transport listens on 127.0.0.1 and dials itself, so both ends are the
 * package's own socket-to-connection code (Nagle off, one `socket.write` per
 * buffer of a list, the rest kept until `'drain'`), exactly what libp2p
 * hands its encrypter and muxer.
 */
export async function tcpPair (options: TransportOptions = {}): Promise<TransportPair> {
  const transport = tcp()({ logger: defaultLogger() })
  const accepted = deferred<MultiaddrConnection>()
  const upgrader = captureUpgrader((conn) => { accepted.resolve(conn) })
  const server = transport.createListener({ upgrader })
  await server.listen(multiaddr('/ip4/127.0.0.1/tcp/0'))
  const address = server.getAddrs()[0]
  const controller = new AbortController()
  const a = await transport.dial(address, { upgrader, signal: controller.signal }) as unknown as RealTcpConnection
  const b = await accepted.promise as RealTcpConnection
  const counts: TransportCounters = { writes: 0, bytes: 0, socketWrites: 0, socketReads: 0, shortReads: 0 }
  if (options.count === true || options.taps !== undefined) {
    instrument(a, counts, options.taps?.[0])
    instrument(b, counts, options.taps?.[1])
  }
  return {
    kind: 'tcp',
    dialer: a,
    listener: b,
    counters: () => ({ ...counts }),
    close: async () => {
      await Promise.all([closeQuietly(a), closeQuietly(b)])
      a.socket.destroy()
      b.socket.destroy()
      await server.close().catch(() => {})
    }
  }
}

export async function makeTransport (kind: TransportKind, options: TransportOptions = {}): Promise<TransportPair> {
  return kind === 'tcp' ? tcpPair(options) : inProcessPair(options)
}
