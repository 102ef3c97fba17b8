/**
 * Scenario 6: the Node.js API over real TCP loopback (issue 12):
 * `libp2p-yamux/node`, our yamux-js drop-in and yamux-js 0.2, with the bare
 * socket as the limit. One stream and 1000 streams (MB/s, CPU s/GiB),
 * sequential churn (streams/s), heap per idle stream (child process). Runs
 * go to the contenders' worker processes, interleaved round by round.
 */
import { errorMessage, roundOrder } from '../harness.ts'
import { CaseResult } from '../results.ts'
import { runChild } from './memory.ts'
import { STALL_MS } from './node-runs.ts'
import type { BenchConfig } from '../config.ts'
import type { NodeContender } from '../node-contenders.ts'
import type { CaseSpec, MetricSpec } from '../results.ts'
import type { Runner } from '../workers.ts'

const GiB = 1024 * 1024 * 1024
const MiB = 1024 * 1024
const SCENARIO = '6. Node.js API, TCP'
const STALL_NOTE = `A run in which no byte (or stream) moves for ${STALL_MS / 1000} s fails with how far it got: yamux-js 0.2 drops a frame split across two socket reads and then waits forever.`

const THROUGHPUT_METRICS: MetricSpec[] = [
  { key: 'mbps', label: 'MB/s', better: 'higher', digits: 0 },
  { key: 'cpuPerGiB', label: 'CPU s/GiB', better: 'lower', digits: 3 },
  { key: 'seconds', label: 'seconds', better: 'lower', digits: 3, ratio: false }
]

const CHURN_METRICS: MetricSpec[] = [
  { key: 'streamsPerSec', label: 'streams/s', better: 'higher', digits: 0 },
  { key: 'usPerStream', label: 'µs/stream', better: 'lower', digits: 2 },
  { key: 'cpuUsPerStream', label: 'CPU µs/stream', better: 'lower', digits: 2 }
]

const MEMORY_METRICS: MetricSpec[] = [
  { key: 'heapPerStream', label: 'heap B/stream', better: 'lower', digits: 0 },
  { key: 'heapExternalPerStream', label: 'heap+external B/stream', better: 'lower', digits: 0 },
  { key: 'openMs', label: 'open all (ms)', better: 'lower', digits: 1 },
  { key: 'peakRssMB', label: 'peak RSS (MB)', better: 'lower', digits: 1 }
]

export interface NodeCases {
  throughput: Array<{ result: CaseResult, streams: number }>
  churn: CaseResult
  memory: CaseResult
}

export function nodeCases (config: BenchConfig, contenders: NodeContender[]): NodeCases {
  const throughput = [1, 1000].map((streams) => {
    const spec: CaseSpec = {
      id: `node-throughput-${streams}-tcp`,
      scenario: SCENARIO,
      title: `6. Node.js API: ${streams === 1 ? 'one stream' : `${streams} concurrent streams`}, ${config.totalBytes / MiB} MiB in ${config.writeSize / 1024} KiB writes — TCP loopback`,
      short: `Node API, ${streams} stream${streams === 1 ? '' : 's'}, TCP`,
      metrics: THROUGHPUT_METRICS,
      primary: 'mbps',
      chart: ['mbps', 'cpuPerGiB'],
      notes: [
        'Ratios are to the bare socket (the same bytes written straight to the socket, no muxer). CPU = both ends, one process.',
        STALL_NOTE
      ]
    }
    return { result: new CaseResult(spec, contenders), streams }
  })
  const churn = new CaseResult({
    id: 'node-churn-sequential-tcp',
    scenario: SCENARIO,
    title: `6. Node.js API: churn, sequential — open, write 1 KiB, read the echo, end, wait until closed; ${config.churnStreams} streams, TCP loopback`,
    short: 'Node API, churn, TCP',
    metrics: CHURN_METRICS,
    primary: 'streamsPerSec',
    notes: [
      'Bare socket row: 1 KiB echo round trips on the socket (no stream to open or close).',
      'A stream counts once both ends have closed (`\'close\'` on the opener\'s stream): yamux-js 0.2 sends no FIN on `end()` (and ignores a received one), so its first stream never closes.',
      STALL_NOTE
    ]
  }, contenders)
  const memory = new CaseResult({
    id: 'node-memory-idle-streams-tcp',
    scenario: SCENARIO,
    title: `6. Node.js API: ${config.nodeMemoryStreams} idle open streams (both ends), TCP loopback, one child process per run`,
    short: `Node API, ${config.nodeMemoryStreams} idle streams`,
    metrics: MEMORY_METRICS,
    primary: 'heapPerStream',
    notes: [
      'Heap = heapUsed growth after global.gc() over the streams opened, both ends in the process; 200 streams are opened first to warm up. The bare socket has no streams; ratios are to libp2p-yamux/node.',
      `${config.nodeMemoryStreams} streams, not ${config.memoryStreams} as in scenario 4: a session's default maxSessionWindowSize (1 GiB, at 256 KiB a stream) admits 4096 streams.`,
      STALL_NOTE
    ]
  }, contenders.filter(c => c.kind !== 'socket'))
  return { throughput, churn, memory }
}

function order<T> (list: T[], round: number): T[] {
  return roundOrder(list, round)
}

/** One unrecorded pass at 1/8 (throughput) and 1/10 (churn) size, so round 1 is not the JIT's warm-up. */
export async function warmUpNode (cases: NodeCases, contenders: NodeContender[], config: BenchConfig, runner: Runner, log: (line: string) => void): Promise<void> {
  for (const contender of contenders) {
    for (const c of cases.throughput) {
      try {
        await runner.nodeTransfer(contender, { streams: c.streams, totalBytes: Math.max(c.streams * config.writeSize, Math.floor(config.totalBytes / 8)), writeSize: config.writeSize, timeoutMs: config.runTimeoutMs })
      } catch (err) {
        log(`  warm-up ${c.result.spec.id} ${contender.name}: FAILED ${errorMessage(err)}`)
      }
    }
    try {
      await runner.nodeChurn(contender, { streams: Math.max(100, Math.floor(config.churnStreams / 10)), timeoutMs: config.runTimeoutMs })
    } catch (err) {
      log(`  warm-up ${cases.churn.spec.id} ${contender.name}: FAILED ${errorMessage(err)}`)
    }
  }
}

export async function runNodeRound (round: number, cases: NodeCases, contenders: NodeContender[], config: BenchConfig, runner: Runner, log: (line: string) => void): Promise<void> {
  for (const c of round < config.rounds ? cases.throughput : []) {
    for (const contender of order(contenders, round)) {
      try {
        const r = await runner.nodeTransfer(contender, { streams: c.streams, totalBytes: config.totalBytes, writeSize: config.writeSize, timeoutMs: config.runTimeoutMs })
        const sample = { mbps: config.totalBytes / r.seconds / 1e6, cpuPerGiB: r.cpuSeconds / (config.totalBytes / GiB), seconds: r.seconds }
        c.result.add(contender.name, round, { sample })
        log(`  ${c.result.spec.id} ${contender.name}: ${sample.mbps.toFixed(0)} MB/s, ${sample.cpuPerGiB.toFixed(3)} CPU s/GiB`)
      } catch (err) {
        c.result.add(contender.name, round, { error: errorMessage(err) })
        log(`  ${c.result.spec.id} ${contender.name}: FAILED ${errorMessage(err)}`)
      }
    }
  }
  if (round >= config.churnRounds) { return }
  for (const contender of order(contenders, round)) {
    try {
      const sample = await runner.nodeChurn(contender, { streams: config.churnStreams, timeoutMs: config.runTimeoutMs })
      cases.churn.add(contender.name, round, { sample })
      log(`  ${cases.churn.spec.id} ${contender.name}: ${sample.streamsPerSec.toFixed(0)} streams/s`)
    } catch (err) {
      cases.churn.add(contender.name, round, { error: errorMessage(err) })
      log(`  ${cases.churn.spec.id} ${contender.name}: FAILED ${errorMessage(err)}`)
    }
  }
  if (round >= config.memoryRounds) { return }
  for (const contender of order(contenders.filter(c => c.kind !== 'socket'), round)) {
    try {
      const sample = await runChild(contender.name, config.nodeMemoryStreams, config.runTimeoutMs, 'node-memory')
      cases.memory.add(contender.name, round, { sample })
      log(`  ${cases.memory.spec.id} ${contender.name}: ${sample.heapPerStream.toFixed(0)} B heap/stream, open ${sample.openMs.toFixed(1)} ms`)
    } catch (err) {
      cases.memory.add(contender.name, round, { error: errorMessage(err) })
      log(`  ${cases.memory.spec.id} ${contender.name}: FAILED ${errorMessage(err)}`)
    }
  }
}
