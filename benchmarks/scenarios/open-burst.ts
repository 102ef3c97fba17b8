/**
 * Scenario 4b: time to open N streams in a warm process. Over the
 * in-process pair, `await createStream()` N times one after another until
 * the listener was handed all of them, in each contender's long-lived
 * worker after an unrecorded warm-up round. The memory scenario times the
 * same in a fresh child process, where most of it is V8 compiling the code.
 */
import { beforeTimedRun, closeMuxer, deferred, errorMessage, guarded, roundOrder } from '../harness.ts'
import { CaseResult } from '../results.ts'
import { inProcessPair } from '../transports.ts'
import { PER_STREAM_METRICS } from './churn.ts'
import type { BenchConfig } from '../config.ts'
import type { Contender, MuxerContender } from '../contenders.ts'
import type { CaseSpec, MetricSpec, Sample } from '../results.ts'
import type { TransportPair } from '../transports.ts'
import type { Runner } from '../workers.ts'
import type { StreamMuxer } from '@libp2p/interface'

const METRICS: MetricSpec[] = [
  { key: 'openMs', label: 'open all (ms)', better: 'lower', digits: 1 },
  ...PER_STREAM_METRICS
]

/** What one run does: open `streams` streams, fail past `timeoutMs`. */
export interface OpenBurstOptions {
  streams: number
  timeoutMs: number
}

/** The libp2p v3 muxers: the bare transport has no streams, the v2 shape its own scenario. */
export function openBurstContenders (contenders: Contender[]): MuxerContender[] {
  return contenders.filter((c): c is MuxerContender => c.kind === 'muxer')
}

export function openBurstCase (config: BenchConfig, contenders: Contender[]): CaseResult {
  const spec: CaseSpec = {
    id: 'open-burst',
    scenario: '4. memory',
    title: `4b. Open ${config.memoryStreams} streams one after another in a warm process, in-process pair`,
    short: `open ${config.memoryStreams} streams (warm)`,
    metrics: METRICS,
    primary: 'openMs',
    notes: [
      'From the first `await createStream()` until the listener has been handed every stream; each contender in its long-lived worker, after an unrecorded round of the same size. Streams stay open until the run ends. The memory scenario times the same in a fresh process (mostly V8 compiling the code).'
    ]
  }
  return new CaseResult(spec, openBurstContenders(contenders))
}

/** Opens `streams` streams over a fresh pair; both ends are held until the clock stops. */
export async function openBurstRun (contender: MuxerContender, options: OpenBurstOptions): Promise<Sample> {
  const n = options.streams
  let pair: TransportPair | undefined
  const muxers: StreamMuxer[] = []
  return guarded(async () => {
    pair = inProcessPair()
    const dialer = contender.create(pair.dialer, n * 3)
    const listener = contender.create(pair.listener, n * 3)
    muxers.push(dialer, listener)
    const held: unknown[] = []
    const arrived = deferred()
    listener.addEventListener('stream', (evt) => {
      held.push(evt.detail)
      if (held.length === 2 * n) { arrived.resolve() }
    })
    beforeTimedRun()
    const cpu0 = process.cpuUsage()
    const t0 = performance.now()
    for (let i = 0; i < n; i++) {
      held.push(await dialer.createStream())
      if (held.length === 2 * n) { arrived.resolve() }
    }
    await arrived.promise
    const ms = performance.now() - t0
    const cpu = process.cpuUsage(cpu0)
    return { openMs: ms, usPerStream: ms * 1000 / n, cpuUsPerStream: (cpu.user + cpu.system) / n, held: held.length }
  }, options.timeoutMs, async () => {
    await Promise.all(muxers.map(closeMuxer))
    await pair?.close()
  })
}

/**
 * One round: every contender once, in a rotating order. `record` false is
 * the warm-up round.
 */
export async function runOpenBurstRound (round: number, result: CaseResult, contenders: Contender[], config: BenchConfig, runner: Runner, log: (line: string) => void, record = true): Promise<void> {
  const muxers = openBurstContenders(contenders)
  const order = roundOrder(muxers, round)
  for (const contender of order) {
    try {
      const sample = await runner.openBurst(contender, { streams: config.memoryStreams, timeoutMs: config.runTimeoutMs })
      if (record) { result.add(contender.name, round, { sample }) }
      log(`  ${result.spec.id}${record ? '' : ' (warm-up)'} ${contender.name}: ${sample.openMs.toFixed(1)} ms`)
    } catch (err) {
      if (record) { result.add(contender.name, round, { error: errorMessage(err) }) }
      log(`  ${result.spec.id} ${contender.name}: FAILED ${errorMessage(err)}`)
    }
  }
}
