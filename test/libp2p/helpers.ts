/**
 * Shared fixtures for the libp2p adapter tests: two muxers over the
 * timer-free in-process pair, polling helpers, a sender that honours
 * 'drain', and read-only access to the core records behind a stream.
 */
import { yamux } from '../../src/index.ts'
import { directPair } from '../fixtures/direct-pair.ts'
import type { YamuxMuxer, YamuxMuxerInit } from '../../src/index.ts'
import type { DirectConnection } from '../fixtures/direct-pair.ts'
import type { Stream } from '@libp2p/interface'

export interface Muxers {
  dialer: YamuxMuxer
  listener: YamuxMuxer
  inbound: Stream[]
  /** The dialer's and the listener's transport. */
  conns: [DirectConnection, DirectConnection]
}

export function muxers (dialerInit: YamuxMuxerInit = {}, listenerInit: YamuxMuxerInit = {}, highWaterMark?: number): Muxers {
  const [a, b] = directPair({ highWaterMark }) as [DirectConnection, DirectConnection]
  const dialer = yamux({ enableKeepAlive: false, ...dialerInit })().createStreamMuxer(a)
  const listener = yamux({ enableKeepAlive: false, ...listenerInit })().createStreamMuxer(b)
  const inbound: Stream[] = []
  listener.addEventListener('stream', (evt) => { inbound.push(evt.detail) })
  return { dialer, listener, inbound, conns: [a, b] }
}

export async function settle (ms = 20): Promise<void> {
  await new Promise(resolve => setTimeout(resolve, ms))
}

/** Polls `condition`; throws if it is still false after `ms` (a hang detector, not a timing claim). */
export async function until (condition: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms
  while (!condition()) {
    if (Date.now() > end) { throw new Error('condition not met in time') }
    await settle(2)
  }
}

/** Byte `i` of the test pattern (positions are recognisable modulo 251). */
export function patternByte (i: number): number {
  return i % 251
}

export function pattern (from: number, length: number): Uint8Array {
  const out = new Uint8Array(length)
  for (let i = 0; i < length; i++) { out[i] = patternByte(from + i) }
  return out
}

/** Sends `total` bytes in `chunk`-sized writes, respecting 'drain'; `fill(offset, n)` makes the data. */
export async function sendAll (stream: Stream, total: number, chunk = 64 * 1024, fill?: (offset: number, n: number) => Uint8Array): Promise<void> {
  const buf = new Uint8Array(chunk).fill(1)
  for (let sent = 0; sent < total; sent += chunk) {
    const n = Math.min(chunk, total - sent)
    if (!stream.send(fill !== undefined ? fill(sent, n) : buf.subarray(0, n))) {
      await new Promise<void>((resolve, reject) => {
        stream.addEventListener('drain', () => { resolve() }, { once: true })
        stream.addEventListener('close', (evt) => { reject(evt.error ?? new Error('closed')) }, { once: true })
      })
    }
  }
}

/** The core's bookkeeping for one stream (white-box, read only). */
export interface CoreStreamView {
  recvWindow: number
  /** The most the window may grow to. */
  maxRecvWindow: number
  recvAvailable: number
  consumed: number
  creditOwed: number
  sendWindow: number
  queued: number
  /** The peer's FIN arrived. */
  readClosed: boolean
}

export function coreRecord (muxer: YamuxMuxer, stream: Stream): CoreStreamView | undefined {
  return (muxer as any).session.streams.get(Number(stream.id))
}

/** Resolves with `promise`, or throws if it has not settled after `ms` (a hang detector). */
export async function within<T> (promise: Promise<T>, ms = 5000, what = 'operation'): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const hang = new Promise<never>((resolve, reject) => {
    timer = setTimeout(() => { reject(new Error(`${what} did not finish: stalled`)) }, ms)
  })
  try {
    return await Promise.race([promise, hang])
  } finally {
    clearTimeout(timer)
  }
}

/** Streams the muxer's core session holds. */
export function coreStreamCount (muxer: YamuxMuxer): number {
  return (muxer as any).session.streamCount
}
