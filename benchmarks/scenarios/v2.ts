/**
 * Scenarios 1-4 for the libp2p v2 contenders, whose muxers and streams are
 * source/sink Duplexes: the same measurements as transfer.ts, churn.ts and
 * memory.ts, written the way a libp2p 2 application drives a stream (a
 * writer hands `sink` an iterable, a reader iterates `source`).
 */
import { beforeTimedRun, deferred, guarded } from '../harness.ts'
import { IDLE_WARM_UP, IdleStreams } from '../idle-streams.ts'
import { attach, closeMuxerV2, inProcessPairV2, makePairV2 } from '../v2.ts'
import { expectOpen } from './memory.ts'
import type { Sample } from '../results.ts'
import type { MuxerV2Contender, PairV2, StreamMuxerV2 } from '../v2.ts'
import type { ChurnOptions } from './churn.ts'
import type { TransferOptions, TransferResult } from './transfer.ts'
import type { Stream } from '@libp2p/interface-v2'

async function * repeat (chunk: Uint8Array, total: number): AsyncGenerator<Uint8Array> {
  for (let sent = 0; sent < total; sent += chunk.byteLength) {
    yield total - sent >= chunk.byteLength ? chunk : chunk.subarray(0, total - sent)
  }
}

/** Counts what `stream` delivers; rejects `failed` if it ends in error. */
function countInto (stream: Stream, onBytes: (n: number) => void, failed: (err: Error) => void): void {
  void (async () => {
    try {
      for await (const chunk of stream.source) { onBytes(chunk.byteLength) }
    } catch (err: any) {
      failed(err)
    }
  })()
}

export async function transferV2 (contender: MuxerV2Contender, options: TransferOptions): Promise<TransferResult> {
  const { streams, totalBytes, writeSize } = options
  let pair: PairV2 | undefined
  let dialer: StreamMuxerV2 | undefined
  let listener: StreamMuxerV2 | undefined
  const chunk = new Uint8Array(writeSize).fill(0x61)

  return guarded(async () => {
    if (options.tap === true) { throw new Error('no frame tap for the v2 pipes') }
    pair = await makePairV2(options.transport)
    const received = deferred()
    let count = 0
    const onBytes = (n: number): void => {
      count += n
      if (count >= totalBytes) { received.resolve() }
    }
    const limit = Math.max(streams * 2, 2000)
    listener = contender.create({
      direction: 'inbound',
      onIncomingStream: (stream) => { countInto(stream, onBytes, (err) => { received.reject(err) }) }
    }, limit)
    dialer = contender.create({ direction: 'outbound' }, limit)
    attach(dialer, pair.dialer)
    attach(listener, pair.listener)

    beforeTimedRun()
    const cpu0 = process.cpuUsage()
    const t0 = performance.now()
    const muxer = dialer
    const share = Math.floor(totalBytes / streams)
    const extra = totalBytes - share * streams
    const writers: Array<Promise<void>> = []
    for (let i = 0; i < streams; i++) {
      const bytes = share + (i < extra ? 1 : 0)
      writers.push((async () => {
        const stream = await muxer.newStream()
        // the sink closes the write side when the source ends
        await stream.sink(repeat(chunk, bytes))
      })())
    }
    await Promise.all([received.promise, ...writers])

    const seconds = (performance.now() - t0) / 1000
    const cpu = process.cpuUsage(cpu0)
    const result: TransferResult = { seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, counters: pair.counters() }
    const a = contender.selfStats?.(dialer)
    const b = contender.selfStats?.(listener)
    if (a !== undefined && b !== undefined) {
      result.selfStats = { transportWrites: a.transportWrites + b.transportWrites, windowUpdatesSent: a.windowUpdatesSent + b.windowUpdatesSent }
    }
    return result
  }, options.timeoutMs, async () => {
    await Promise.all([closeMuxerV2(dialer), closeMuxerV2(listener)])
    await pair?.close()
  })
}

const PAYLOAD = 1024

/**
 * One churn run: each cycle opens a stream, writes 1 KiB and closes its
 * write side (one `sink` call), reads the echo until the listener's FIN,
 * so the stream is closed both ways when the cycle ends.
 */
export async function churnV2 (contender: MuxerV2Contender, options: ChurnOptions): Promise<Sample> {
  const { streams: total, parallel } = options
  let pair: PairV2 | undefined
  const muxers: StreamMuxerV2[] = []
  return guarded(async () => {
    pair = inProcessPairV2()
    const failed = deferred<never>()
    const limit = Math.max(parallel * 4, 2000)
    const listener = contender.create({
      direction: 'inbound',
      // echo, then FIN when the dialer's FIN arrives
      onIncomingStream: (stream) => { stream.sink(stream.source).catch((err: Error) => { failed.reject(err) }) }
    }, limit)
    const dialer = contender.create({ direction: 'outbound' }, limit)
    muxers.push(dialer, listener)
    attach(dialer, pair.dialer)
    attach(listener, pair.listener)
    const payload = new Uint8Array(PAYLOAD).fill(0x62)

    const cycle = async (): Promise<void> => {
      const stream = await dialer.newStream()
      let got = 0
      const reading = (async () => {
        for await (const chunk of stream.source) { got += chunk.byteLength }
      })()
      await stream.sink([payload])
      await reading
      if (got < PAYLOAD) { throw new Error('stream closed before the echo') }
    }
    let started = 0
    const worker = async (): Promise<void> => {
      while (started < total) {
        started++
        await cycle()
      }
    }

    beforeTimedRun()
    const cpu0 = process.cpuUsage()
    const t0 = performance.now()
    const workers: Array<Promise<void>> = []
    for (let i = 0; i < parallel; i++) { workers.push(worker()) }
    await Promise.race([Promise.all(workers), failed.promise])
    const seconds = (performance.now() - t0) / 1000
    const cpu = process.cpuUsage(cpu0)
    return {
      streamsPerSec: total / seconds,
      usPerStream: seconds * 1e6 / total,
      cpuUsPerStream: (cpu.user + cpu.system) / total
    }
  }, options.timeoutMs, async () => {
    await Promise.all(muxers.map(closeMuxerV2))
    await pair?.close()
  })
}

/** Runs in the memory child process: `n` idle streams, both ends held. */
export async function memoryChildV2 (contender: MuxerV2Contender, n: number): Promise<Sample> {
  const meter = new IdleStreams()
  const pair = inProcessPairV2()
  const limit = n + IDLE_WARM_UP + 100
  const listener = contender.create({ direction: 'inbound', onIncomingStream: meter.onInbound }, limit)
  const dialer = contender.create({ direction: 'outbound' }, limit)
  attach(dialer, pair.dialer)
  attach(listener, pair.listener)
  return meter.measure(n, {
    open: async () => dialer.newStream(),
    check: (opened) => { expectOpen(dialer.streams.length + listener.streams.length, opened) }
  })
}
