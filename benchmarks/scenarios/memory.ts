/**
 * Scenario 4: memory of idle streams. In a fresh child process per
 * contender and round (so heap and peak RSS belong to that contender only):
 * open `memoryStreams` streams over the in-process pair and hold both ends
 * open, idle. Reported: heap (and heap + external buffers) per stream,
 * both ends together, measured after global.gc(); the time to open them
 * (until the listener has seen every stream); the child's peak RSS.
 */
import { fork } from 'node:child_process'
import { errorMessage, roundOrder } from '../harness.ts'
import { IDLE_WARM_UP, IdleStreams } from '../idle-streams.ts'
import { CaseResult } from '../results.ts'
import { inProcessPair } from '../transports.ts'
import type { BenchConfig } from '../config.ts'
import type { Contender, MuxerContender } from '../contenders.ts'
import type { CaseSpec, MetricSpec, Sample } from '../results.ts'

const METRICS: MetricSpec[] = [
  { key: 'heapPerStream', label: 'heap B/stream', better: 'lower', digits: 0 },
  { key: 'heapExternalPerStream', label: 'heap+external B/stream', better: 'lower', digits: 0 },
  { key: 'openMs', label: 'open all (ms)', better: 'lower', digits: 1 },
  { key: 'peakRssMB', label: 'peak RSS (MB)', better: 'lower', digits: 1 },
  { key: 'rssPerStream', label: 'RSS growth B/stream', better: 'lower', digits: 0 }
]

export function memoryCase (config: BenchConfig, contenders: Contender[]): CaseResult {
  const spec: CaseSpec = {
    id: 'memory-idle-streams',
    scenario: '4. memory',
    title: `4. Memory: ${config.memoryStreams} idle open streams (both ends), in-process pair, one child process per run`,
    short: `${config.memoryStreams} idle streams`,
    metrics: METRICS,
    primary: 'heapPerStream',
    chart: ['heapPerStream', 'openMs', 'peakRssMB'],
    notes: [
      `Heap = process.memoryUsage().heapUsed growth after global.gc(), divided by the stream count; both ends are in the process, so it is the cost of one stream on both sides. ${IDLE_WARM_UP} streams are opened before the baseline to warm up.`,
      'Open all = from the first createStream() until the listener has been handed every stream. Peak RSS = the child process\'s maxRSS (includes Node itself, ~40-50 MB).',
      'The bare transport has no streams and is not run here; ratios are to ours.'
    ]
  }
  return new CaseResult(spec, contenders.filter(c => c.kind !== 'bare'))
}

/** Runs in the child process: returns the sample. */
export async function memoryChild (contender: MuxerContender, n: number): Promise<Sample> {
  const meter = new IdleStreams()
  const pair = inProcessPair()
  const limit = n + IDLE_WARM_UP + 100
  const dialer = contender.create(pair.dialer, limit)
  const listener = contender.create(pair.listener, limit)
  listener.addEventListener('stream', (evt) => { meter.onInbound(evt.detail) })
  return meter.measure(n, {
    open: async () => dialer.createStream(),
    check: (opened) => { expectOpen(dialer.streams.length + listener.streams.length, opened) }
  })
}

/** Both ends of every stream opened must still be open when measured. */
export function expectOpen (ends: number, opened: number): void {
  if (ends < 2 * opened) { throw new Error(`only ${ends} of ${2 * opened} stream ends are open`) }
}

/** Runs `run.js --child <scenario> <contender> <n>` and returns the sample it sends back. */
export async function runChild (contender: string, n: number, timeoutMs: number, scenario = 'memory'): Promise<Sample> {
  const script = process.argv[1]
  const child = fork(script, ['--child', scenario, contender, String(n)], {
    execArgv: process.execArgv,
    stdio: ['ignore', 'ignore', 'pipe', 'ipc']
  })
  let stderr = ''
  child.stderr?.on('data', (buf: Buffer) => { stderr = (stderr + buf.toString()).slice(-2000) })
  return new Promise<Sample>((resolve, reject) => {
    let reply: { sample?: Sample, error?: string } | undefined
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`timed out after ${timeoutMs} ms`))
    }, timeoutMs)
    child.on('message', (msg: { sample?: Sample, error?: string }) => { reply = msg })
    child.on('exit', (code, signal) => {
      clearTimeout(timer)
      if (reply?.sample !== undefined) {
        resolve(reply.sample)
      } else {
        reject(new Error(reply?.error ?? `child exited with ${code ?? signal}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`))
      }
    })
  })
}

export async function runMemoryRound (round: number, result: CaseResult, contenders: Contender[], config: BenchConfig, log: (line: string) => void): Promise<void> {
  const muxers = contenders.filter(c => c.kind !== 'bare')
  const order = roundOrder(muxers, round)
  for (const contender of order) {
    try {
      const sample = await runChild(contender.name, config.memoryStreams, config.runTimeoutMs)
      result.add(contender.name, round, { sample })
      log(`  ${result.spec.id} ${contender.name}: ${sample.heapPerStream.toFixed(0)} B heap/stream, open ${sample.openMs.toFixed(1)} ms, peak RSS ${sample.peakRssMB.toFixed(1)} MB`)
    } catch (err) {
      result.add(contender.name, round, { error: errorMessage(err) })
      log(`  ${result.spec.id} ${contender.name}: FAILED ${errorMessage(err)}`)
    }
  }
}
