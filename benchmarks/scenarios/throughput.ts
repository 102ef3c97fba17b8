/**
 * Scenarios 1 and 2: bulk throughput on one stream and on 10/100/1000
 * concurrent streams sharing the same total, over the in-process pair and
 * over TCP loopback. MB/s (10^6 bytes) of payload delivered end to end, and
 * CPU seconds (user + system, both ends: one process) per GiB of payload.
 */
import { errorMessage, roundOrder } from '../harness.ts'
import { CaseResult } from '../results.ts'
import { selectTransports } from '../transports.ts'
import type { BenchConfig } from '../config.ts'
import type { Contender } from '../contenders.ts'
import type { CaseSpec, MetricSpec } from '../results.ts'
import type { TransportKind } from '../transports.ts'
import type { Runner } from '../workers.ts'

const GiB = 1024 * 1024 * 1024
const MiB = 1024 * 1024

const METRICS: MetricSpec[] = [
  { key: 'mbps', label: 'MB/s', better: 'higher', digits: 0 },
  { key: 'cpuPerGiB', label: 'CPU s/GiB', better: 'lower', digits: 3 },
  { key: 'seconds', label: 'seconds', better: 'lower', digits: 3, ratio: false }
]

export interface ThroughputCase {
  result: CaseResult
  transport: TransportKind
  streams: number
}

export function throughputCases (config: BenchConfig, contenders: Contender[]): ThroughputCase[] {
  const cases: ThroughputCase[] = []
  for (const streams of config.streamCounts) {
    for (const transport of selectTransports(config.transports)) {
      const single = streams === 1
      const spec: CaseSpec = {
        id: `throughput-${streams}-${transport}`,
        scenario: single ? '1. one stream' : '2. concurrent streams',
        title: `${single ? '1. One stream' : `2. ${streams} concurrent streams`}, ${config.totalBytes / MiB} MiB in ${config.writeSize / 1024} KiB writes — ${transport === 'tcp' ? 'TCP loopback' : 'in-process pair'}`,
        short: `${streams} stream${single ? '' : 's'}, ${transport === 'tcp' ? 'TCP' : 'in-process'}`,
        metrics: METRICS,
        primary: 'mbps',
        notes: single
          ? undefined
          : [`Each stream carries ${Math.floor(config.totalBytes / streams)} bytes; the bare transport has no streams and sends the same total on the connection.`]
      }
      cases.push({ result: new CaseResult(spec, contenders), transport, streams })
    }
  }
  return cases
}

/** One unrecorded pass over every case at 1/8 size, so round 1 is not the JIT's warm-up. */
export async function warmUpThroughput (cases: ThroughputCase[], contenders: Contender[], config: BenchConfig, runner: Runner, log: (line: string) => void): Promise<void> {
  for (const c of cases) {
    for (const contender of contenders) {
      try {
        await runner.transfer(contender, {
          transport: c.transport,
          streams: c.streams,
          totalBytes: Math.max(c.streams * config.writeSize, Math.floor(config.totalBytes / 8)),
          writeSize: config.writeSize,
          timeoutMs: config.runTimeoutMs
        })
      } catch (err) {
        log(`  warm-up ${c.result.spec.id} ${contender.name}: FAILED ${errorMessage(err)}`)
      }
    }
  }
}

export async function runThroughputRound (round: number, cases: ThroughputCase[], contenders: Contender[], config: BenchConfig, runner: Runner, log: (line: string) => void): Promise<void> {
  for (const c of cases) {
    // a new order each round: no contender always first, or always after the same one
    const order = roundOrder(contenders, round)
    for (const contender of order) {
      try {
        const r = await runner.transfer(contender, {
          transport: c.transport,
          streams: c.streams,
          totalBytes: config.totalBytes,
          writeSize: config.writeSize,
          timeoutMs: config.runTimeoutMs
        })
        const sample = {
          mbps: config.totalBytes / r.seconds / 1e6,
          cpuPerGiB: r.cpuSeconds / (config.totalBytes / GiB),
          seconds: r.seconds
        }
        c.result.add(contender.name, round, { sample })
        log(`  ${c.result.spec.id} ${contender.name}: ${sample.mbps.toFixed(0)} MB/s, ${sample.cpuPerGiB.toFixed(3)} CPU s/GiB`)
      } catch (err) {
        c.result.add(contender.name, round, { error: errorMessage(err) })
        log(`  ${c.result.spec.id} ${contender.name}: FAILED ${errorMessage(err)}`)
      }
    }
  }
}
