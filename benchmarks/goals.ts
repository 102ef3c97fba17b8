/**
 * The goals of issue 14 checked against a run: for each row ours' value, the
 * other contenders' values, ours' ratio to the row's reference (median of
 * per-round ratios), whether the goal is met, and whether ours is ahead of
 * chainsafe and mplex on that metric.
 */
import { fmt } from './report.ts'
import { median } from './results.ts'
import type { BenchConfig } from './config.ts'
import type { CaseResult } from './results.ts'

export interface GoalCheck {
  goal: string
  /** Medians per contender, formatted ('n/a' when not run). */
  values: Record<string, string>
  /** Ours ÷ reference, formatted, or the value for absolute goals. */
  actual: string
  met: boolean | undefined
  /** Ours vs chainsafe and mplex on this metric: 'ahead', 'behind' or 'n/a' each. */
  versus: string
}

interface GoalSpec {
  goal: string
  caseId: string
  metric: string
  better: 'higher' | 'lower'
  digits: number
  /** Ratio of ours to this contender, or an absolute limit on ours' median when absent. */
  reference?: 'bare' | 'chainsafe'
  op: '>=' | '<='
  limit: number
}

export const SHOWN = ['ours', 'chainsafe', 'mplex', 'bare']

function specs (config: BenchConfig): GoalSpec[] {
  const out: GoalSpec[] = []
  for (const n of config.fullStackStreams) {
    const id = `full-stack-${n}`
    const what = `full stack (TCP + noise), ${n} stream${n === 1 ? '' : 's'}`
    out.push({ goal: `${what}: MB/s vs chainsafe ≥ 1.3×`, caseId: id, metric: 'mbps', better: 'higher', digits: 0, reference: 'chainsafe', op: '>=', limit: 1.3 })
    out.push({ goal: `${what}: CPU s/GiB vs chainsafe ≤ 0.8×`, caseId: id, metric: 'cpuPerGiB', better: 'lower', digits: 3, reference: 'chainsafe', op: '<=', limit: 0.8 })
  }
  out.push(
    { goal: '1 stream, `@libp2p/tcp`: MB/s vs chainsafe ≥ 1.1×', caseId: 'throughput-1-tcp', metric: 'mbps', better: 'higher', digits: 0, reference: 'chainsafe', op: '>=', limit: 1.1 },
    { goal: '1 stream, `@libp2p/tcp`: CPU s/GiB vs chainsafe ≤ 0.9×', caseId: 'throughput-1-tcp', metric: 'cpuPerGiB', better: 'lower', digits: 3, reference: 'chainsafe', op: '<=', limit: 0.9 },
    { goal: '1 stream, `@libp2p/tcp`: CPU s/GiB vs no muxer ≤ 1.15×', caseId: 'throughput-1-tcp', metric: 'cpuPerGiB', better: 'lower', digits: 3, reference: 'bare', op: '<=', limit: 1.15 },
    { goal: '100 streams, `@libp2p/tcp`: MB/s vs chainsafe ≥ 1.1×', caseId: 'throughput-100-tcp', metric: 'mbps', better: 'higher', digits: 0, reference: 'chainsafe', op: '>=', limit: 1.1 },
    { goal: '1 stream in-process: MB/s vs no muxer ≥ 0.85×', caseId: 'throughput-1-in-process', metric: 'mbps', better: 'higher', digits: 0, reference: 'bare', op: '>=', limit: 0.85 },
    { goal: '1000 streams in-process: MB/s vs no muxer ≥ 0.85×', caseId: 'throughput-1000-in-process', metric: 'mbps', better: 'higher', digits: 0, reference: 'bare', op: '>=', limit: 0.85 },
    { goal: '1000 streams, `@libp2p/tcp`: MB/s vs no muxer ≥ 0.9×', caseId: 'throughput-1000-tcp', metric: 'mbps', better: 'higher', digits: 0, reference: 'bare', op: '>=', limit: 0.9 },
    { goal: 'churn, sequential: streams/s vs 1 KiB request/response with no muxer ≥ 0.5×', caseId: 'churn-sequential', metric: 'streamsPerSec', better: 'higher', digits: 0, reference: 'bare', op: '>=', limit: 0.5 },
    { goal: 'heap per idle stream, both ends ≤ 2,000 B', caseId: 'memory-idle-streams', metric: 'heapPerStream', better: 'lower', digits: 0, op: '<=', limit: 2000 },
    { goal: `time to open ${config.memoryStreams} streams, fresh process, vs chainsafe ≤ 0.05×`, caseId: 'memory-idle-streams', metric: 'openMs', better: 'lower', digits: 1, reference: 'chainsafe', op: '<=', limit: 0.05 },
    { goal: `time to open ${config.memoryStreams} streams, warm process, vs chainsafe ≤ 0.05×`, caseId: 'open-burst', metric: 'openMs', better: 'lower', digits: 1, reference: 'chainsafe', op: '<=', limit: 0.05 },
    { goal: 'transport writes per MiB (in-process, both ends) ≤ 17', caseId: 'wire-in-process', metric: 'writesPerMiB', better: 'lower', digits: 2, op: '<=', limit: 17 },
    { goal: 'window updates per MiB (in-process) ≤ 2', caseId: 'wire-in-process', metric: 'windowUpdatesPerMiB', better: 'lower', digits: 2, op: '<=', limit: 2 }
  )
  return out
}

function versus (result: CaseResult, spec: GoalSpec): string {
  const parts: string[] = []
  for (const other of ['chainsafe', 'mplex']) {
    if (!result.contenders.includes(other)) { continue }
    const ratios = result.ratiosBetween('ours', other, spec.metric)
    const r = median(ratios)
    if (!Number.isFinite(r)) {
      parts.push(`${other} n/a`)
      continue
    }
    const better = (x: number): boolean => spec.better === 'higher' ? x >= 1 : x <= 1
    // how decided the verdict is: rounds in which ours was the better one
    const won = ratios.filter(better).length
    parts.push(`${better(r) ? 'ahead of' : '**behind**'} ${other} (${r.toFixed(2)}×, won ${won}/${ratios.length})`)
  }
  return parts.join(', ')
}

export function checkGoals (cases: Map<string, CaseResult>, config: BenchConfig): GoalCheck[] {
  return specs(config).map((spec) => {
    const result = cases.get(spec.caseId)
    const values: Record<string, string> = {}
    for (const name of SHOWN) {
      values[name] = result?.contenders.includes(name) === true ? fmt(result.median(name, spec.metric), spec.digits) : 'n/a'
    }
    if (result === undefined || !result.contenders.includes('ours')) {
      return { goal: spec.goal, values, actual: 'not run', met: undefined, versus: '' }
    }
    let actual: number
    let shown: string
    if (spec.reference === undefined) {
      actual = result.median('ours', spec.metric)
      shown = fmt(actual, spec.digits)
    } else if (!result.contenders.includes(spec.reference)) {
      return { goal: spec.goal, values, actual: `${spec.reference} not run`, met: undefined, versus: versus(result, spec) }
    } else {
      actual = result.ratioBetween('ours', spec.reference, spec.metric)
      shown = Number.isFinite(actual) ? `${fmt(actual, 2)}×` : 'n/a'
    }
    let met: boolean | undefined
    if (Number.isFinite(actual)) { met = spec.op === '>=' ? actual >= spec.limit : actual <= spec.limit }
    return { goal: spec.goal, values, actual: shown, met, versus: versus(result, spec) }
  })
}

export function goalsTable (checks: GoalCheck[]): string {
  const lines = [
    '| goal (issue 14) | ours | chainsafe | mplex | no muxer | ours vs goal\'s reference | met | ours vs the others |',
    '| --- | ---: | ---: | ---: | ---: | ---: | :---: | --- |'
  ]
  for (const c of checks) {
    let met = '–'
    if (c.met !== undefined) { met = c.met ? 'yes' : '**no**' }
    lines.push(`| ${c.goal} | ${SHOWN.map(n => c.values[n]).join(' | ')} | ${c.actual} | ${met} | ${c.versus} |`)
  }
  return lines.join('\n') + '\n'
}
