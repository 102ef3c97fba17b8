/**
 * Benchmark sizes, from the environment. `BENCH_QUICK=1` gives a smoke run
 * of about a minute; every size can also be set on its own.
 */

const MiB = 1024 * 1024

export interface BenchConfig {
  quick: boolean
  /** Rounds of the throughput scenarios (contenders interleaved in each). */
  rounds: number
  /** Bytes moved by one throughput run, shared by all its streams. */
  totalBytes: number
  /** Size of each application write in the throughput runs. */
  writeSize: number
  /** Stream counts of the throughput scenarios. */
  streamCounts: number[]
  /** Rounds of the full-stack scenario (libp2p nodes over TCP + noise). */
  fullStackRounds: number
  /** Bytes moved by one full-stack run. */
  fullStackBytes: number
  /** Stream counts of the full-stack scenario. */
  fullStackStreams: number[]
  /** Bytes moved by one wire-efficiency run. */
  wireBytes: number
  /** Streams opened by one churn run. */
  churnStreams: number
  /** Concurrency of the parallel churn run. */
  churnParallel: number
  /** Rounds of the churn scenario. */
  churnRounds: number
  /** Idle streams held open by one memory run. */
  memoryStreams: number
  /** Rounds of the memory scenario (one child process per contender per round). */
  memoryRounds: number
  /** Recorded rounds of the warm open-burst scenario (memoryStreams streams each). */
  openRounds: number
  /** Idle streams held open by one Node API memory run (scenario 6). */
  nodeMemoryStreams: number
  /** A single run taking longer than this is reported as failed. */
  runTimeoutMs: number
  /** Stream counts of the two-process TCP scenario. */
  splitStreams: number[]
  /** Payload per round of the two-process scenario. */
  splitBytes: number
  /** Recorded rounds of the two-process scenario. */
  splitRounds: number
  /** Scenario names to run (all when empty). */
  only: string[]
  /** Contender names to run (all when empty). */
  contenders: string[]
  /** Transports for the throughput and wire scenarios (all when empty). */
  transports: string[]
  /** Run every throughput and churn case once, unrecorded, at a fraction of its size before round 1. */
  warmUp: boolean
  /** Run each contender in its own worker process (default) or all in this one. */
  isolate: boolean
}

function int (name: string, fallback: number): number {
  const raw = process.env[name]
  if (raw === undefined || raw === '') { return fallback }
  const value = Number(raw)
  if (!Number.isFinite(value) || value <= 0) {
    throw new Error(`${name} must be a positive number, got ${raw}`)
  }
  return Math.round(value)
}

function list (name: string): string[] {
  return (process.env[name] ?? '').split(',').map(s => s.trim()).filter(s => s !== '')
}

export function loadConfig (): BenchConfig {
  const quick = process.env.BENCH_QUICK === '1' || process.env.BENCH_QUICK === 'true'
  const counts = (name: string): number[] => list(name).map(Number).filter(n => Number.isInteger(n) && n > 0)
  const streamCounts = counts('BENCH_STREAMS')
  const fullStackStreams = counts('BENCH_FULL_STREAMS')
  const splitStreams = counts('BENCH_SPLIT_STREAMS')
  return {
    quick,
    rounds: int('BENCH_ROUNDS', quick ? 3 : 9),
    totalBytes: int('BENCH_MIB', quick ? 64 : 256) * MiB,
    writeSize: int('BENCH_WRITE_KIB', 64) * 1024,
    streamCounts: streamCounts.length > 0 ? streamCounts : [1, 10, 100, 1000],
    fullStackRounds: int('BENCH_FULL_ROUNDS', quick ? 1 : 9),
    fullStackBytes: int('BENCH_FULL_MIB', quick ? 32 : 128) * MiB,
    fullStackStreams: fullStackStreams.length > 0 ? fullStackStreams : [1, 100],
    splitStreams: splitStreams.length > 0 ? splitStreams : [1, 100],
    splitBytes: int('BENCH_SPLIT_MIB', quick ? 64 : 256) * MiB,
    splitRounds: int('BENCH_SPLIT_ROUNDS', quick ? 3 : 15),
    wireBytes: int('BENCH_WIRE_MIB', quick ? 16 : 64) * MiB,
    churnStreams: int('BENCH_CHURN_STREAMS', quick ? 5000 : 20_000),
    churnParallel: int('BENCH_CHURN_PARALLEL', 100),
    churnRounds: int('BENCH_CHURN_ROUNDS', quick ? 1 : 5),
    memoryStreams: int('BENCH_MEMORY_STREAMS', 10_000),
    memoryRounds: int('BENCH_MEMORY_ROUNDS', quick ? 1 : 3),
    openRounds: int('BENCH_OPEN_ROUNDS', quick ? 1 : 5),
    // a session's default window budget (1 GiB at 256 KiB a stream) admits 4096 streams
    nodeMemoryStreams: int('BENCH_NODE_MEMORY_STREAMS', 3000),
    runTimeoutMs: int('BENCH_TIMEOUT_MS', 120_000),
    only: list('BENCH_ONLY'),
    contenders: list('BENCH_CONTENDERS'),
    transports: list('BENCH_TRANSPORTS'),
    warmUp: process.env.BENCH_WARMUP !== '0',
    isolate: process.env.BENCH_ISOLATE !== '0'
  }
}
