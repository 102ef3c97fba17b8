/**
 * Scenario 3: stream churn over the in-process pair. Each client cycle:
 * open a stream, write 1 KiB, read the 1 KiB echo, close, and wait until the
 * stream is fully closed (the listener echoes every message and closes its
 * end when ours ends). Run sequentially and with `churnParallel` cycles in
 * flight. The bare transport has no streams: its row is 1 KiB echo round
 * trips on the connection (same concurrency), a ceiling for reference.
 */
import { beforeTimedRun, closeMuxer, deferred, errorMessage, guarded, roundOrder } from '../harness.ts'
import { CaseResult } from '../results.ts'
import { inProcessPair } from '../transports.ts'
import { churnV2 } from './v2.ts'
import type { BenchConfig } from '../config.ts'
import type { Contender, MuxerContender } from '../contenders.ts'
import type { CaseSpec, MetricSpec, Sample } from '../results.ts'
import type { TransportPair } from '../transports.ts'
import type { Runner } from '../workers.ts'
import type { Stream, StreamMuxer } from '@libp2p/interface'

const PAYLOAD = 1024

/** Wall and CPU time per stream, as churn and opening streams (open-burst.ts) report them. */
export const PER_STREAM_METRICS: MetricSpec[] = [
  { key: 'usPerStream', label: 'µs/stream', better: 'lower', digits: 2 },
  { key: 'cpuUsPerStream', label: 'CPU µs/stream', better: 'lower', digits: 2 }
]

const METRICS: MetricSpec[] = [
  { key: 'streamsPerSec', label: 'streams/s', better: 'higher', digits: 0 },
  ...PER_STREAM_METRICS
]

export interface ChurnCase {
  result: CaseResult
  parallel: number
}

export function churnCases (config: BenchConfig, contenders: Contender[]): ChurnCase[] {
  return [1, config.churnParallel].map((parallel) => {
    const spec: CaseSpec = {
      id: parallel === 1 ? 'churn-sequential' : `churn-parallel-${parallel}`,
      scenario: '3. churn',
      title: `3. Churn, ${parallel === 1 ? 'sequential' : `${parallel}-way`}: open, write 1 KiB, read the echo, close — ${config.churnStreams} streams, in-process pair`,
      short: `churn, ${parallel === 1 ? 'sequential' : `${parallel}-way`}`,
      metrics: METRICS,
      primary: 'streamsPerSec',
      notes: ['Bare transport row: 1 KiB echo round trips on the connection with the same number in flight (no stream to open or close).']
    }
    return { result: new CaseResult(spec, contenders), parallel }
  })
}

async function muxedChurn (contender: MuxerContender, pair: TransportPair, total: number, parallel: number, muxers: StreamMuxer[]): Promise<void> {
  const dialer = contender.create(pair.dialer, Math.max(parallel * 4, 2000))
  const listener = contender.create(pair.listener, Math.max(parallel * 4, 2000))
  muxers.push(dialer, listener)
  const failed = deferred<never>()
  listener.addEventListener('stream', (evt) => {
    const stream = evt.detail
    stream.addEventListener('message', (e) => {
      try { stream.send(e.data) } catch (err: any) { failed.reject(err) }
    })
    stream.addEventListener('remoteCloseWrite', () => {
      stream.close().catch((err: Error) => { failed.reject(err) })
    })
  })

  const payload = new Uint8Array(PAYLOAD).fill(0x62)
  const cycle = async (): Promise<void> => {
    const stream: Stream = await dialer.createStream()
    const echoed = deferred()
    const closed = deferred()
    let got = 0
    stream.addEventListener('message', (e) => {
      got += e.data.byteLength
      if (got >= PAYLOAD) { echoed.resolve() }
    })
    stream.addEventListener('close', (e) => {
      if (e.error !== undefined) {
        echoed.reject(e.error)
        closed.reject(e.error)
      } else {
        if (got < PAYLOAD) { echoed.reject(new Error('stream closed before the echo')) }
        closed.resolve()
      }
    })
    stream.send(payload)
    await echoed.promise
    await stream.close()
    await closed.promise
  }

  let started = 0
  const worker = async (): Promise<void> => {
    while (started < total) {
      started++
      await cycle()
    }
  }
  const workers: Array<Promise<void>> = []
  for (let i = 0; i < parallel; i++) { workers.push(worker()) }
  await Promise.race([Promise.all(workers), failed.promise])
}

async function bareChurn (pair: TransportPair, total: number, parallel: number): Promise<void> {
  pair.listener.addEventListener('message', (evt) => { pair.listener.send(evt.data) })
  // echo keeps order: a request sent at offset o is answered once o + 1 KiB is back
  let received = 0
  let sent = 0
  const waiters: Array<{ until: number, resolve(): void }> = []
  pair.dialer.addEventListener('message', (evt) => {
    received += evt.data.byteLength
    while (waiters.length > 0 && waiters[0].until <= received) {
      const first = waiters.shift()
      first?.resolve()
    }
  })
  const payload = new Uint8Array(PAYLOAD).fill(0x62)
  let started = 0
  const worker = async (): Promise<void> => {
    while (started < total) {
      started++
      sent += PAYLOAD
      const until = sent
      const done = new Promise<void>(resolve => { waiters.push({ until, resolve }) })
      pair.dialer.send(payload)
      await done
    }
  }
  const workers: Array<Promise<void>> = []
  for (let i = 0; i < parallel; i++) { workers.push(worker()) }
  await Promise.all(workers)
}

/** One unrecorded pass over every case at 1/10 size, so round 1 is not the JIT's warm-up. */
export async function warmUpChurn (cases: ChurnCase[], contenders: Contender[], config: BenchConfig, runner: Runner, log: (line: string) => void): Promise<void> {
  const warm = { ...config, churnStreams: Math.max(100, Math.floor(config.churnStreams / 10)) }
  const scratch = cases.map(c => ({ parallel: c.parallel, result: new CaseResult(c.result.spec, contenders) }))
  await runChurnRound(0, scratch, contenders, warm, runner, (line) => { if (line.includes('FAILED')) { log(`  warm-up${line}`) } })
}

export interface ChurnOptions {
  streams: number
  parallel: number
  timeoutMs: number
}

/** One churn run over a fresh in-process pair. */
export async function churnRun (contender: Contender, options: ChurnOptions): Promise<Sample> {
  if (contender.kind === 'muxer-v2') { return churnV2(contender, options) }
  let pair: TransportPair | undefined
  const muxers: StreamMuxer[] = []
  const { streams, parallel } = options
  return guarded(async () => {
    pair = inProcessPair()
    beforeTimedRun()
    const cpu0 = process.cpuUsage()
    const t0 = performance.now()
    if (contender.kind === 'bare') {
      await bareChurn(pair, streams, parallel)
    } else {
      await muxedChurn(contender, pair, streams, parallel, muxers)
    }
    const seconds = (performance.now() - t0) / 1000
    const cpu = process.cpuUsage(cpu0)
    return {
      streamsPerSec: streams / seconds,
      usPerStream: seconds * 1e6 / streams,
      cpuUsPerStream: (cpu.user + cpu.system) / streams
    }
  }, options.timeoutMs, async () => {
    await Promise.all(muxers.map(closeMuxer))
    await pair?.close()
  })
}

export async function runChurnRound (round: number, cases: ChurnCase[], contenders: Contender[], config: BenchConfig, runner: Runner, log: (line: string) => void): Promise<void> {
  for (const c of cases) {
    const order = roundOrder(contenders, round)
    for (const contender of order) {
      try {
        const sample = await runner.churn(contender, { streams: config.churnStreams, parallel: c.parallel, timeoutMs: config.runTimeoutMs })
        c.result.add(contender.name, round, { sample })
        log(`  ${c.result.spec.id} ${contender.name}: ${sample.streamsPerSec.toFixed(0)} streams/s`)
      } catch (err) {
        c.result.add(contender.name, round, { error: errorMessage(err) })
        log(`  ${c.result.spec.id} ${contender.name}: FAILED ${errorMessage(err)}`)
      }
    }
  }
}
