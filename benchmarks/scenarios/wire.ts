/**
 * Scenario 5: wire efficiency of a one-stream transfer. Transport writes are
 * counted at the MessageStream level (the pipe's `sendData` calls, both
 * ends) for every contender; over TCP the `socket.write` calls too. Window
 * updates are counted by decoding the yamux headers on the wire (same tap
 * for ours and chainsafe); ours' self-reported counter is shown beside it.
 */
import { errorMessage } from '../harness.ts'
import { CaseResult } from '../results.ts'
import { selectTransports } from '../transports.ts'
import type { BenchConfig } from '../config.ts'
import type { Contender } from '../contenders.ts'
import type { CaseSpec, MetricSpec, Sample } from '../results.ts'
import type { FrameCounts } from '../tap.ts'
import type { TransportKind } from '../transports.ts'
import type { Runner } from '../workers.ts'

const MiB = 1024 * 1024

const METRICS: MetricSpec[] = [
  { key: 'writesPerMiB', label: 'transport writes/MiB', better: 'lower', digits: 2 },
  { key: 'socketWritesPerMiB', label: 'socket.write/MiB', better: 'lower', digits: 2 },
  { key: 'socketReadsPerMiB', label: 'socket reads/MiB', better: 'lower', digits: 2, ratio: false },
  { key: 'shortReadsPerMiB', label: 'short reads/MiB', better: 'lower', digits: 2, ratio: false },
  { key: 'windowUpdatesPerMiB', label: 'window updates/MiB', better: 'lower', digits: 2, ratio: false },
  { key: 'flagOnlyUpdatesPerMiB', label: 'flag-only WU/MiB', better: 'lower', digits: 3, ratio: false },
  { key: 'dataFramesPerMiB', label: 'data frames/MiB', better: 'lower', digits: 2, ratio: false },
  { key: 'overheadPct', label: 'wire overhead %', better: 'lower', digits: 3, ratio: false },
  { key: 'selfWindowUpdatesPerMiB', label: 'self-reported WU/MiB', better: 'lower', digits: 2, ratio: false },
  { key: 'mbps', label: 'MB/s (tapped)', better: 'higher', digits: 0, ratio: false }
]

export interface WireCase {
  result: CaseResult
  transport: TransportKind
}

export function wireCases (config: BenchConfig, contenders: Contender[]): WireCase[] {
  return selectTransports(config.transports).map((transport) => {
    const spec: CaseSpec = {
      id: `wire-${transport}`,
      scenario: '5. wire efficiency',
      title: `5. Wire efficiency, one stream, ${config.wireBytes / MiB} MiB in ${config.writeSize / 1024} KiB writes — ${transport === 'tcp' ? 'TCP loopback' : 'in-process pair'}`,
      short: `wire, ${transport === 'tcp' ? 'TCP' : 'in-process'}`,
      metrics: METRICS,
      primary: 'writesPerMiB',
      chart: ['writesPerMiB', 'windowUpdatesPerMiB'],
      notes: [
        'Per MiB of payload, both ends added up. "transport writes" = MessageStream-level `sendData` calls of the pipe, counted the same way for every contender.',
        'Window updates = WindowUpdate frames granting credit (Length > 0), decoded from the yamux headers on the wire; flag-only WU = WindowUpdate frames with Length 0 that carry only SYN/ACK/FIN/RST. mplex has no flow control (n/a); the bare transport sends none.',
        'Self-reported WU = ours\' `stats.windowUpdatesSent` (which also counts flag-only WindowUpdate frames).',
        'Socket reads (TCP): \'data\' events of more than 100 bytes, both ends; short reads are those under 64 KiB (the kernel had no more queued). 16 reads and no short ones per MiB is the receiver reading full buffers; about 21 with 9 short ones is the stuck receive buffer of "A fresh loopback connection" in benchmarks/README.md.'
      ]
    }
    return { result: new CaseResult(spec, contenders), transport }
  })
}

function addFrameCounts (sample: Sample, counts: FrameCounts, mib: number): void {
  if (counts.undecodable > 0) { throw new Error(`tap could not decode ${counts.undecodable} bytes`) }
  sample.windowUpdatesPerMiB = counts.windowUpdates / mib
  sample.flagOnlyUpdatesPerMiB = counts.flagOnlyUpdates / mib
  sample.dataFramesPerMiB = counts.dataFrames / mib
}

export async function runWireRound (round: number, cases: WireCase[], contenders: Contender[], config: BenchConfig, runner: Runner, log: (line: string) => void): Promise<void> {
  for (const c of cases) {
    for (const contender of contenders) {
      const tap = contender.name === 'ours' || contender.name === 'chainsafe'
      try {
        const r = await runner.transfer(contender, {
          transport: c.transport,
          streams: 1,
          totalBytes: config.wireBytes,
          writeSize: config.writeSize,
          timeoutMs: config.runTimeoutMs,
          tap,
          count: true
        })
        const mib = config.wireBytes / MiB
        const sample: Sample = {
          writesPerMiB: r.counters.writes / mib,
          socketWritesPerMiB: r.counters.socketWrites / mib,
          socketReadsPerMiB: c.transport === 'tcp' ? r.counters.socketReads / mib : Number.NaN,
          shortReadsPerMiB: c.transport === 'tcp' ? r.counters.shortReads / mib : Number.NaN,
          overheadPct: (r.counters.bytes - config.wireBytes) / config.wireBytes * 100,
          mbps: config.wireBytes / r.seconds / 1e6,
          windowUpdatesPerMiB: Number.NaN,
          flagOnlyUpdatesPerMiB: Number.NaN,
          dataFramesPerMiB: Number.NaN,
          selfWindowUpdatesPerMiB: Number.NaN
        }
        if (contender.kind === 'bare') {
          sample.windowUpdatesPerMiB = 0
          sample.flagOnlyUpdatesPerMiB = 0
        }
        if (r.frames !== undefined) { addFrameCounts(sample, r.frames, mib) }
        if (r.selfStats !== undefined) {
          sample.selfWindowUpdatesPerMiB = r.selfStats.windowUpdatesSent / mib
        }
        c.result.add(contender.name, round, { sample })
        log(`  ${c.result.spec.id} ${contender.name}: ${sample.writesPerMiB.toFixed(2)} writes/MiB, ${Number.isFinite(sample.windowUpdatesPerMiB) ? sample.windowUpdatesPerMiB.toFixed(2) : 'n/a'} WU/MiB`)
      } catch (err) {
        c.result.add(contender.name, round, { error: errorMessage(err) })
        log(`  ${c.result.spec.id} ${contender.name}: FAILED ${errorMessage(err)}`)
      }
    }
  }
}
