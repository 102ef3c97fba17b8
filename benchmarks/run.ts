/**
 * `npm run bench`: ours vs `@chainsafe/libp2p-yamux` vs `@libp2p/mplex` vs the
 * bare transport, interleaved round by round. Prints a markdown table and a
 * `BENCH_JSON ` line per case, writes benchmarks/RESULTS.md and
 * benchmarks/results.svg (`BENCH_RESULTS` renames them). Progress goes to stderr.
 *
 * Run with `node --require ./scripts/node20-polyfill.cjs --expose-gc
 * dist/benchmarks/run.js`; sizes come from the environment (config.ts).
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { loadConfig } from './config.ts'
import { selectContenders } from './contenders.ts'
import { checkGoals, goalsTable } from './goals.ts'
import { errorMessage, hasGc, installStrayErrorHandlers } from './harness.ts'
import { selectNodeContenders } from './node-contenders.ts'
import { nodeGoals, nodeGoalsTable } from './node-goals.ts'
import { caseTable, jsonLine, resultsMarkdown, svgChart } from './report.ts'
import { churnCases, runChurnRound, warmUpChurn } from './scenarios/churn.ts'
import { fullStackCases, runFullStackRound, warmUpFullStack } from './scenarios/full-stack.ts'
import { memoryCase, memoryChild, runMemoryRound } from './scenarios/memory.ts'
import { nodeCases, runNodeRound, warmUpNode } from './scenarios/node-api.ts'
import { nodeMemoryChild } from './scenarios/node-runs.ts'
import { openBurstCase, runOpenBurstRound } from './scenarios/open-burst.ts'
import { runSplit, splitCases } from './scenarios/split-tcp.ts'
import { runThroughputRound, throughputCases, warmUpThroughput } from './scenarios/throughput.ts'
import { memoryChildV2 } from './scenarios/v2.ts'
import { runWireRound, wireCases } from './scenarios/wire.ts'
import { Runner, workerMain } from './workers.ts'
import type { BenchConfig } from './config.ts'
import type { Contender, MuxerContender } from './contenders.ts'
import type { CaseResult, Sample } from './results.ts'

const SCENARIOS = ['full-stack', 'throughput', 'split', 'wire', 'churn', 'memory', 'open', 'node']

function log (line: string): void {
  process.stderr.write(`${line}\n`)
}

async function child (args: string[]): Promise<void> {
  const [scenario, name, count] = args
  try {
    let sample: Sample
    if (scenario === 'memory') {
      const contender = selectContenders([name]).find(c => c.kind !== 'bare')
      if (contender === undefined) { throw new Error(`unknown contender ${name}`) }
      sample = contender.kind === 'muxer-v2'
        ? await memoryChildV2(contender, Number(count))
        : await memoryChild(contender as MuxerContender, Number(count))
    } else if (scenario === 'node-memory') {
      const contender = selectNodeContenders([name]).find(c => c.kind === 'node-muxer')
      if (contender === undefined || contender.kind !== 'node-muxer') { throw new Error(`unknown Node API contender ${name}`) }
      sample = await nodeMemoryChild(contender, Number(count))
    } else {
      throw new Error(`unknown child scenario ${scenario}`)
    }
    process.send?.({ sample })
  } catch (err) {
    process.send?.({ error: errorMessage(err) })
  }
  // idle streams and sockets may hold the loop open: we are done
  process.disconnect?.()
  setTimeout(() => process.exit(0), 50).unref()
}

type Emit = (results: CaseResult[]) => void

/** Scenario 4b: an unrecorded round, then `openRounds` recorded ones. */
async function openBurst (config: BenchConfig, contenders: Contender[], runner: Runner): Promise<CaseResult> {
  const result = openBurstCase(config, contenders)
  log('open-burst warm-up (not recorded)')
  await runOpenBurstRound(0, result, contenders, config, runner, log, false)
  for (let round = 0; round < config.openRounds; round++) {
    log(`open-burst round ${round + 1}/${config.openRounds}`)
    await runOpenBurstRound(round, result, contenders, config, runner, log)
  }
  return result
}

async function runScenarios (scenarios: string[], config: BenchConfig, contenders: Contender[], emit: Emit): Promise<void> {
  // fresh worker processes for each scenario: the heap and JIT state left by
  // one scenario (e.g. GiBs of bulk transfers) must not slow down the next
  let runner = new Runner(config.isolate)
  const fresh = (): void => {
    runner.stop()
    runner = new Runner(config.isolate)
  }
  if (scenarios.includes('full-stack')) {
    // libp2p 3 nodes: the v2 contenders are not in this one
    const fullStackContenders = contenders.filter(c => c.kind !== 'muxer-v2')
    const cases = fullStackCases(config, fullStackContenders)
    fresh()
    if (config.warmUp) {
      log('full-stack warm-up (not recorded)')
      await warmUpFullStack(cases, fullStackContenders, config, runner, log)
    }
    for (let round = 0; round < config.fullStackRounds; round++) {
      log(`full-stack round ${round + 1}/${config.fullStackRounds}`)
      await runFullStackRound(round, cases, fullStackContenders, config, runner, log)
    }
    emit(cases.map(c => c.result))
  }
  if (scenarios.includes('throughput')) {
    const cases = throughputCases(config, contenders)
    fresh()
    if (config.warmUp) {
      log('throughput warm-up (not recorded)')
      await warmUpThroughput(cases, contenders, config, runner, log)
    }
    for (let round = 0; round < config.rounds; round++) {
      log(`throughput round ${round + 1}/${config.rounds}`)
      await runThroughputRound(round, cases, contenders, config, runner, log)
    }
    emit(cases.map(c => c.result))
  }
  if (scenarios.includes('split')) {
    // sender and receiver in their own processes (libp2p 3 muxers only)
    runner.stop()
    const splitContenders = contenders.filter(c => c.kind !== 'muxer-v2')
    const cases = splitCases(config, splitContenders)
    await runSplit(cases, splitContenders, config, log)
    emit(cases.map(c => c.result))
  }
  if (scenarios.includes('wire')) {
    // the frame tap sits in the v3 pipes: the v2 contenders are not in this one
    const wireContenders = contenders.filter(c => c.kind !== 'muxer-v2')
    const cases = wireCases(config, wireContenders)
    fresh()
    const rounds = Math.min(config.rounds, 3)
    for (let round = 0; round < rounds; round++) {
      log(`wire round ${round + 1}/${rounds}`)
      await runWireRound(round, cases, wireContenders, config, runner, log)
    }
    emit(cases.map(c => c.result))
  }
  if (scenarios.includes('churn')) {
    const cases = churnCases(config, contenders)
    fresh()
    if (config.warmUp) {
      log('churn warm-up (not recorded)')
      await warmUpChurn(cases, contenders, config, runner, log)
    }
    for (let round = 0; round < config.churnRounds; round++) {
      log(`churn round ${round + 1}/${config.churnRounds}`)
      await runChurnRound(round, cases, contenders, config, runner, log)
    }
    emit(cases.map(c => c.result))
  }
  if (scenarios.includes('memory')) {
    const result = memoryCase(config, contenders)
    for (let round = 0; round < config.memoryRounds; round++) {
      log(`memory round ${round + 1}/${config.memoryRounds}`)
      await runMemoryRound(round, result, contenders, config, log)
    }
    emit([result])
  }
  if (scenarios.includes('open')) {
    fresh()
    emit([await openBurst(config, contenders, runner)])
  }
  const nodeContenders = selectNodeContenders(config.contenders)
  if (scenarios.includes('node') && nodeContenders.length > 0) {
    const cases = nodeCases(config, nodeContenders)
    fresh()
    if (config.warmUp) {
      log('Node API warm-up (not recorded)')
      await warmUpNode(cases, nodeContenders, config, runner, log)
    }
    const rounds = Math.max(config.rounds, config.churnRounds, config.memoryRounds)
    for (let round = 0; round < rounds; round++) {
      log(`Node API round ${round + 1}/${rounds}`)
      await runNodeRound(round, cases, nodeContenders, config, runner, log)
    }
    emit([...cases.throughput.map(c => c.result), cases.churn, cases.memory])
  }
  runner.stop()
}

async function main (): Promise<void> {
  const config = loadConfig()
  const contenders = selectContenders(config.contenders)
  const scenarios = config.only.length > 0 ? SCENARIOS.filter(s => config.only.includes(s)) : SCENARIOS
  const root = fileURLToPath(new URL('../..', import.meta.url))
  const outDir = process.env.BENCH_OUT_DIR ?? path.join(root, 'benchmarks')
  installStrayErrorHandlers()
  if (!hasGc()) { log('warning: global.gc is not exposed (run node with --expose-gc): memory figures will be noisy') }

  const startedAt = new Date()
  const loadAtStart = os.loadavg()
  const t0 = performance.now()
  log(`bench: ${scenarios.join(', ')} — contenders ${[...(scenarios.some(s => s !== 'node') ? contenders : []), ...(scenarios.includes('node') ? selectNodeContenders(config.contenders) : [])].map(c => c.name).join(', ')}${config.quick ? ' (quick)' : ''}${config.isolate ? ', one worker process per contender' : ', all in one process'} on ${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}, node ${process.version}`)

  const all: CaseResult[] = []
  const emit = (results: CaseResult[]): void => {
    for (const r of results) {
      process.stdout.write(`${caseTable(r)}\n${jsonLine(r)}\n\n`)
      all.push(r)
    }
  }

  await runScenarios(scenarios, config, contenders, emit)
  // report in scenario order: 0 full stack, 1 one stream, 2 concurrent, 3 churn, 4 memory, 5 wire
  const ordered = [...all].sort((a, b) => a.spec.scenario.localeCompare(b.spec.scenario))
  const byId = new Map(all.map(r => [r.spec.id, r]))
  const goals = checkGoals(byId, config)
  const goalsMarkdown = goalsTable(goals)
  process.stdout.write(`## Goals (issue 14)\n\n${goalsMarkdown}\n`)
  const nodeMarkdown = scenarios.includes('node') ? `## Goals (issue 12, Node API)\n\n${nodeGoalsTable(nodeGoals(byId))}\n` : ''
  process.stdout.write(nodeMarkdown)

  const seconds = (performance.now() - t0) / 1000
  mkdirSync(outDir, { recursive: true })
  const subtitle = `${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}, node ${process.version}, ${startedAt.toISOString()}${config.quick ? ' (quick run)' : ''}`
  // BENCH_RESULTS names the files: RESULTS.md and results.svg by default
  const name = process.env.BENCH_RESULTS ?? 'RESULTS'
  const chart = `${name.toLowerCase()}.svg`
  writeFileSync(path.join(outDir, chart), svgChart(ordered, subtitle))
  writeFileSync(path.join(outDir, `${name}.md`), resultsMarkdown({ root, config, results: ordered, goalsTable: goalsMarkdown + (nodeMarkdown === '' ? '' : `\n${nodeMarkdown}`), startedAt, seconds, loadAtStart, chart }))
  log(`wrote ${path.join(outDir, `${name}.md`)} and ${chart} in ${seconds.toFixed(0)} s`)
  // a contender may leave timers or sockets behind: the run is over
  setTimeout(() => process.exit(0), 100).unref()
}

const argv = process.argv.slice(2)
if (argv[0] === '--child') {
  void child(argv.slice(1))
} else if (argv[0] === '--worker') {
  workerMain(argv[1])
} else {
  main().catch((err) => {
    log(`bench failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`)
    process.exit(1)
  })
}
