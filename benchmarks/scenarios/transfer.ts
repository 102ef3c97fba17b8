/**
 * One bulk transfer: the dialer sends `totalBytes`, split evenly over
 * `streams` concurrent streams, in writes of `writeSize` bytes (honouring
 * 'drain'); the listener counts every byte in its 'message' listeners. The
 * clock and process.cpuUsage() run from before the first stream is opened
 * until the receiver has counted the last byte and every writer has closed
 * its stream.
 */
import { beforeTimedRun, closeMuxer, deferred, guarded, writeAll } from '../harness.ts'
import { YamuxFrameTap, sumCounts } from '../tap.ts'
import { makeTransport } from '../transports.ts'
import { transferV2 } from './v2.ts'
import type { Contender } from '../contenders.ts'
import type { FrameCounts } from '../tap.ts'
import type { TransportCounters, TransportKind, TransportPair } from '../transports.ts'
import type { StreamMuxer } from '@libp2p/interface'

export interface TransferOptions {
  transport: TransportKind
  streams: number
  totalBytes: number
  writeSize: number
  timeoutMs: number
  /** Decode the yamux frames on the wire (yamux contenders only). */
  tap?: boolean
  /** Count transport writes (the wire scenario). */
  count?: boolean
}

export interface TransferResult {
  seconds: number
  cpuSeconds: number
  counters: TransportCounters
  /** The muxer's own counters, both ends, when it has any. */
  selfStats?: { transportWrites: number, windowUpdatesSent: number }
  /** Frames seen on the wire, both directions, when tapped. */
  frames?: FrameCounts
}

export async function transfer (contender: Contender, options: TransferOptions): Promise<TransferResult> {
  if (contender.kind === 'muxer-v2') { return transferV2(contender, options) }
  const { streams, totalBytes, writeSize } = options
  let pair: TransportPair | undefined
  let dialer: StreamMuxer | undefined
  let listener: StreamMuxer | undefined
  const chunk = new Uint8Array(writeSize).fill(0x61)

  return guarded(async () => {
    const taps: [YamuxFrameTap, YamuxFrameTap] | undefined = options.tap === true ? [new YamuxFrameTap(), new YamuxFrameTap()] : undefined
    pair = await makeTransport(options.transport, { taps, count: options.count })
    const received = deferred()
    let count = 0
    const onBytes = (n: number): void => {
      count += n
      if (count >= totalBytes) { received.resolve() }
    }

    if (contender.kind === 'bare') {
      pair.listener.addEventListener('message', (evt) => { onBytes(evt.data.byteLength) })
      pair.listener.addEventListener('close', (evt) => { if (count < totalBytes) { received.reject(evt.error ?? new Error('transport closed early')) } })
    } else {
      dialer = contender.create(pair.dialer, Math.max(streams * 2, 2000))
      listener = contender.create(pair.listener, Math.max(streams * 2, 2000))
      listener.addEventListener('stream', (evt) => {
        const stream = evt.detail
        stream.addEventListener('message', (e) => { onBytes(e.data.byteLength) })
        stream.addEventListener('close', (e) => {
          if (e.error !== undefined && count < totalBytes) { received.reject(e.error) }
        })
      })
    }

    beforeTimedRun()
    const cpu0 = process.cpuUsage()
    const t0 = performance.now()

    const writers: Array<Promise<void>> = []
    if (contender.kind === 'bare') {
      writers.push(writeAll(pair.dialer, totalBytes, chunk))
    } else {
      const muxer = dialer as StreamMuxer
      const share = Math.floor(totalBytes / streams)
      const extra = totalBytes - share * streams
      for (let i = 0; i < streams; i++) {
        const bytes = share + (i < extra ? 1 : 0)
        writers.push((async () => {
          const stream = await muxer.createStream()
          await writeAll(stream, bytes, chunk)
          await stream.close()
        })())
      }
    }
    await Promise.all([received.promise, ...writers])

    const seconds = (performance.now() - t0) / 1000
    const cpu = process.cpuUsage(cpu0)
    const result: TransferResult = {
      seconds,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      counters: pair.counters(),
      frames: taps === undefined ? undefined : sumCounts(taps[0].counts, taps[1].counts)
    }
    if (contender.kind === 'muxer' && contender.selfStats !== undefined && dialer !== undefined && listener !== undefined) {
      const a = contender.selfStats(dialer)
      const b = contender.selfStats(listener)
      if (a !== undefined && b !== undefined) {
        result.selfStats = { transportWrites: a.transportWrites + b.transportWrites, windowUpdatesSent: a.windowUpdatesSent + b.windowUpdatesSent }
      }
    }
    return result
  }, options.timeoutMs, async () => {
    await Promise.all([closeMuxer(dialer), closeMuxer(listener)])
    await pair?.close()
  })
}
