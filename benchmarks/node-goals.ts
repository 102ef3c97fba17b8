/**
 * The goals of issue 12 for the Node API rows (scenario 6): within 1.3× of
 * the bare socket's CPU on one stream, and ahead of yamux-js 0.2 on every
 * row (met where it is better, or yamux-js could not complete the run), for
 * `libp2p-yamux/node` and for our yamux-js drop-in.
 */
import { fmt } from './report.ts'
import type { CaseResult } from './results.ts'

export interface NodeGoal {
  goal: string
  actual: string
  met: boolean | undefined
}

const ROWS: Array<[id: string, metric: string, name: string]> = [
  ['node-throughput-1-tcp', 'mbps', '1 stream MB/s'],
  ['node-throughput-1-tcp', 'cpuPerGiB', '1 stream CPU s/GiB'],
  ['node-throughput-1000-tcp', 'mbps', '1000 streams MB/s'],
  ['node-throughput-1000-tcp', 'cpuPerGiB', '1000 streams CPU s/GiB'],
  ['node-churn-sequential-tcp', 'streamsPerSec', 'churn streams/s'],
  ['node-memory-idle-streams-tcp', 'heapPerStream', 'heap per idle stream']
]

const OURS: Array<[name: string, label: string]> = [['node', 'libp2p-yamux/node'], ['yamux-js-ours', 'libp2p-yamux/yamux-js']]

export function nodeGoals (cases: Map<string, CaseResult>): NodeGoal[] {
  const goals: NodeGoal[] = []
  for (const [who, label] of OURS) {
    const single = cases.get('node-throughput-1-tcp')
    const goal = `${label}: 1 stream CPU s/GiB vs bare socket ≤ 1.3×`
    if (single === undefined || !single.contenders.includes(who) || !single.contenders.includes('socket')) {
      goals.push({ goal, actual: 'not run', met: undefined })
    } else {
      const ratio = single.ratioBetween(who, 'socket', 'cpuPerGiB')
      goals.push({ goal, actual: `${fmt(ratio, 2)}×`, met: Number.isFinite(ratio) ? ratio <= 1.3 : undefined })
    }
    for (const [id, key, name] of ROWS) {
      const target = `${label}: ${name} ahead of yamux-js 0.2`
      const result = cases.get(id)
      const metric = result?.spec.metrics.find(m => m.key === key)
      if (result === undefined || metric === undefined || !result.contenders.includes(who) || !result.contenders.includes('yamux-js')) {
        goals.push({ goal: target, actual: 'not run', met: undefined })
        continue
      }
      const mine = result.median(who, key)
      const theirs = result.median('yamux-js', key)
      const actual = `${fmt(mine, metric.digits)} vs ${Number.isFinite(theirs) ? fmt(theirs, metric.digits) : 'failed'}`
      let met: boolean
      if (!Number.isFinite(mine)) {
        met = false
      } else if (!Number.isFinite(theirs)) {
        met = true
      } else {
        met = metric.better === 'higher' ? mine > theirs : mine < theirs
      }
      goals.push({ goal: target, actual, met })
    }
  }
  return goals
}

export function nodeGoalsTable (goals: NodeGoal[]): string {
  const lines = ['| goal (issue 12) | value | met |', '| --- | ---: | :---: |']
  for (const g of goals) {
    let met = '–'
    if (g.met !== undefined) { met = g.met ? 'yes' : '**no**' }
    lines.push(`| ${g.goal} | ${g.actual} | ${met} |`)
  }
  return lines.join('\n') + '\n'
}
