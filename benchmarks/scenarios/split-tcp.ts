/**
 * Scenario 7: sender and receiver in two processes, as deployed. Each
 * contender gets its own pair of long-lived processes (benchmarks/split-peer.ts)
 * on a real `@libp2p/tcp` connection; every round dials a fresh connection
 * and sends `totalBytes` over 1 or N streams. Contenders take turns round by
 * round. With both ends in one process (scenario 1) one event loop carries
 * both, and its rounds swing widely; here each end has a core to itself.
 */
import { fork } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { deferred, errorMessage, roundOrder } from '../harness.ts'
import { CaseResult } from '../results.ts'
import type { BenchConfig } from '../config.ts'
import type { Contender } from '../contenders.ts'
import type { Deferred } from '../harness.ts'
import type { CaseSpec, MetricSpec } from '../results.ts'
import type { SplitCommand, SplitReport } from '../split-peer.ts'
import type { ChildProcess } from 'node:child_process'

const GiB = 1024 * 1024 * 1024
const MiB = 1024 * 1024
const PEER = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'split-peer.js')

const METRICS: MetricSpec[] = [
  { key: 'mbps', label: 'MB/s', better: 'higher', digits: 0 },
  { key: 'cpuPerGiB', label: 'CPU s/GiB, both', better: 'lower', digits: 3 },
  { key: 'txCpuPerGiB', label: 'sender', better: 'lower', digits: 3 },
  { key: 'rxCpuPerGiB', label: 'receiver', better: 'lower', digits: 3 }
]

export interface SplitCase {
  result: CaseResult
  streams: number
}

export function splitCases (config: BenchConfig, contenders: Contender[]): SplitCase[] {
  return config.splitStreams.map((streams) => {
    const spec: CaseSpec = {
      id: `split-tcp-${streams}`,
      scenario: '7. two processes',
      title: `7. Sender and receiver in two processes, ${streams} stream${streams === 1 ? '' : 's'}, ${config.splitBytes / MiB} MiB in ${config.writeSize / 1024} KiB writes — \`@libp2p/tcp\``,
      short: `${streams} stream${streams === 1 ? '' : 's'}, TCP, 2 processes`,
      metrics: METRICS,
      primary: 'mbps',
      chart: ['mbps', 'cpuPerGiB'],
      notes: [
        'MB/s runs from the sender\'s first write to the receiver\'s last byte. CPU is each process\'s user + system time: the sender\'s from its first write until its streams are closed, the receiver\'s from the first byte to the last.',
        'Each contender keeps its two processes for the whole scenario (warm, like a server); a fresh connection per round.'
      ]
    }
    return { result: new CaseResult(spec, contenders), streams }
  })
}

/** A forked peer process and the reports it sends. */
class Peer {
  private readonly child: ChildProcess
  private waiting?: { type: SplitReport['type'], reply: Deferred<SplitReport> }
  private stderr = ''

  constructor (role: 'rx' | 'tx', contender: string) {
    this.child = fork(PEER, [role, contender], {
      execArgv: [...process.execArgv.filter(a => !a.startsWith('--cpu-prof')), ...peerProfiling(role, contender)],
      stdio: ['ignore', 'ignore', 'pipe', 'ipc']
    })
    this.child.stderr?.on('data', (buf: Buffer) => { this.stderr = (this.stderr + buf.toString()).slice(-2000) })
    this.child.on('message', (report: SplitReport) => {
      const waiting = this.waiting
      if (waiting === undefined) { return }
      if (report.type === 'failed') {
        this.waiting = undefined
        waiting.reply.reject(new Error(report.error))
      } else if (report.type === waiting.type) {
        this.waiting = undefined
        waiting.reply.resolve(report)
      }
    })
    this.child.on('exit', (code, signal) => {
      this.waiting?.reply.reject(new Error(`${role} peer exited with ${code ?? signal}: ${this.stderr.trim().split('\n').slice(-3).join(' | ')}`))
      this.waiting = undefined
    })
  }

  /** The next report of `type` (or the failure that came first). */
  async next<T extends SplitReport['type']> (type: T, timeoutMs: number): Promise<Extract<SplitReport, { type: T }>> {
    const reply = deferred<SplitReport>()
    this.waiting = { type, reply }
    const timer = setTimeout(() => { reply.reject(new Error(`no '${type}' report within ${timeoutMs} ms`)) }, timeoutMs)
    try {
      return await reply.promise as Extract<SplitReport, { type: T }>
    } finally {
      clearTimeout(timer)
    }
  }

  send (command: SplitCommand): void {
    this.child.send(command)
  }

  kill (): void {
    if (process.env.BENCH_SPLIT_PROF === undefined) {
      this.child.kill('SIGKILL')
      return
    }
    // a profiled peer writes its profile as it exits: let it (it exits when the IPC channel closes)
    this.child.disconnect()
    setTimeout(() => { this.child.kill('SIGKILL') }, 10_000).unref()
  }
}

let peersProfiled = 0

/** `BENCH_SPLIT_PROF=<dir>`: each peer writes a CPU profile there (`<n>-<role>-<contender>.cpuprofile`). */
function peerProfiling (role: 'rx' | 'tx', contender: string): string[] {
  const dir = process.env.BENCH_SPLIT_PROF
  if (dir === undefined) { return [] }
  return ['--cpu-prof', `--cpu-prof-dir=${dir}`, `--cpu-prof-name=${++peersProfiled}-${role}-${contender}.cpuprofile`]
}

/** One contender's sender and receiver. */
class PeerPair {
  private tx?: Peer
  private rx?: Peer
  private port = 0

  constructor (private readonly contender: string) {}

  private async start (timeoutMs: number): Promise<{ tx: Peer, rx: Peer }> {
    if (this.tx !== undefined && this.rx !== undefined) { return { tx: this.tx, rx: this.rx } }
    const rx = new Peer('rx', this.contender)
    const tx = new Peer('tx', this.contender)
    this.rx = rx
    this.tx = tx
    const [ready] = await Promise.all([rx.next('ready', timeoutMs), tx.next('ready', timeoutMs)])
    this.port = ready.port
    return { tx, rx }
  }

  async round (streams: number, totalBytes: number, writeSize: number, timeoutMs: number): Promise<Record<string, number>> {
    try {
      const { tx, rx } = await this.start(timeoutMs)
      rx.send({ type: 'expect', totalBytes })
      const received = rx.next('received', timeoutMs)
      tx.send({ type: 'send', port: this.port, totalBytes, streams, writeSize })
      const [sent, got] = await Promise.all([tx.next('sent', timeoutMs), received])
      tx.send({ type: 'hangup' })
      await tx.next('ready', timeoutMs)
      const gib = totalBytes / GiB
      return {
        mbps: totalBytes / 1e6 / ((got.endedAt - sent.startedAt) / 1000),
        cpuPerGiB: (sent.cpuSeconds + got.cpuSeconds) / gib,
        txCpuPerGiB: sent.cpuSeconds / gib,
        rxCpuPerGiB: got.cpuSeconds / gib
      }
    } catch (err) {
      // a wedged or failed pair starts over next round
      this.stop()
      throw err
    }
  }

  stop (): void {
    this.tx?.kill()
    this.rx?.kill()
    this.tx = undefined
    this.rx = undefined
  }
}

async function recordRound (c: SplitCase, round: number, name: string, pair: PeerPair, config: BenchConfig, log: (line: string) => void): Promise<void> {
  try {
    const sample = await pair.round(c.streams, config.splitBytes, config.writeSize, config.runTimeoutMs)
    c.result.add(name, round, { sample })
    log(`  ${c.result.spec.id} ${name}: ${sample.mbps.toFixed(0)} MB/s, ${sample.cpuPerGiB.toFixed(3)} CPU s/GiB (sender ${sample.txCpuPerGiB.toFixed(3)}, receiver ${sample.rxCpuPerGiB.toFixed(3)})`)
  } catch (err) {
    c.result.add(name, round, { error: errorMessage(err) })
    log(`  ${c.result.spec.id} ${name}: FAILED ${errorMessage(err)}`)
  }
}

/** Runs every case: a warm-up round, then `config.splitRounds` rounds with the contenders taking turns. */
export async function runSplit (cases: SplitCase[], contenders: Contender[], config: BenchConfig, log: (line: string) => void): Promise<void> {
  const v3 = contenders.filter(c => c.kind !== 'muxer-v2')
  const pairs = new Map(v3.map(c => [c.name, new PeerPair(c.name)]))
  const timeoutMs = config.runTimeoutMs
  try {
    for (const c of cases) {
      if (config.warmUp) {
        for (const contender of v3) {
          await pairs.get(contender.name)?.round(c.streams, config.splitBytes, config.writeSize, timeoutMs)
            .catch((err) => { log(`  warm-up ${c.result.spec.id} ${contender.name}: FAILED ${errorMessage(err)}`) })
        }
      }
      for (let round = 0; round < config.splitRounds; round++) {
        log(`two-process round ${round + 1}/${config.splitRounds} (${c.streams} stream${c.streams === 1 ? '' : 's'})`)
        const order = roundOrder(v3, round)
        for (const contender of order) {
          await recordRound(c, round, contender.name, pairs.get(contender.name) as PeerPair, config, log)
        }
      }
    }
  } finally {
    for (const pair of pairs.values()) { pair.stop() }
  }
}
