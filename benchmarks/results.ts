/**
 * The results model: per case (a scenario on one transport / size), per
 * contender, one sample per round, so ratios can be taken round by round
 * against the case's first contender (the bare transport where it runs).
 */

export interface MetricSpec {
  key: string
  label: string
  better: 'higher' | 'lower'
  digits: number
  /** Show a ratio column to the case's first contender (default true). */
  ratio?: boolean
}

export interface CaseSpec {
  /** Stable id, e.g. `throughput-1-in-process`. */
  id: string
  /** Scenario number and name, e.g. `1. one stream`. */
  scenario: string
  title: string
  /** Short name for the chart, e.g. `1 stream, TCP`. */
  short: string
  metrics: MetricSpec[]
  /** The metric charted and used for the per-round ratio column. */
  primary: string
  /** Metrics drawn in the SVG chart (default: the primary one). */
  chart?: string[]
  notes?: string[]
}

export type Sample = Record<string, number>

export interface RoundEntry {
  sample?: Sample
  error?: string
}

export function median (values: number[]): number {
  const sorted = values.filter(v => Number.isFinite(v)).sort((a, b) => a - b)
  if (sorted.length === 0) { return Number.NaN }
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

export class CaseResult {
  readonly spec: CaseSpec
  /** Contender names in report order; the first is the ratio baseline. */
  readonly contenders: string[]
  readonly labels: Map<string, string>
  private readonly rounds = new Map<string, RoundEntry[]>()

  constructor (spec: CaseSpec, contenders: Array<{ name: string, label: string }>) {
    this.spec = spec
    this.contenders = contenders.map(c => c.name)
    this.labels = new Map(contenders.map(c => [c.name, c.label]))
    for (const c of contenders) { this.rounds.set(c.name, []) }
  }

  get baseline (): string {
    return this.contenders[0]
  }

  add (contender: string, round: number, entry: RoundEntry): void {
    const list = this.rounds.get(contender)
    if (list === undefined) { throw new Error(`unknown contender ${contender} in ${this.spec.id}`) }
    list[round] = entry
  }

  entries (contender: string): RoundEntry[] {
    return this.rounds.get(contender) ?? []
  }

  values (contender: string, metric: string): number[] {
    return this.entries(contender).map(e => e?.sample?.[metric] ?? Number.NaN)
  }

  median (contender: string, metric: string): number {
    return median(this.values(contender, metric))
  }

  /** Ratio to the baseline in each round (NaN where either failed). */
  roundRatios (contender: string, metric: string): number[] {
    const mine = this.values(contender, metric)
    const base = this.values(this.baseline, metric)
    const n = Math.max(mine.length, base.length)
    const out: number[] = []
    for (let i = 0; i < n; i++) {
      const a = mine[i] ?? Number.NaN
      const b = base[i] ?? Number.NaN
      out.push(Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? a / b : Number.NaN)
    }
    return out
  }

  /** Median of the per-round ratios. */
  ratio (contender: string, metric: string): number {
    return median(this.roundRatios(contender, metric))
  }

  /** Median over rounds of `a`'s value divided by `b`'s in the same round (NaN if never both). */
  ratioBetween (a: string, b: string, metric: string): number {
    return median(this.ratiosBetween(a, b, metric))
  }

  /** `a`'s value divided by `b`'s, for each round in which both have one. */
  ratiosBetween (a: string, b: string, metric: string): number[] {
    const mine = this.values(a, metric)
    const other = this.values(b, metric)
    const out: number[] = []
    for (let i = 0; i < Math.max(mine.length, other.length); i++) {
      const x = mine[i] ?? Number.NaN
      const y = other[i] ?? Number.NaN
      if (Number.isFinite(x) && Number.isFinite(y) && y !== 0) { out.push(x / y) }
    }
    return out
  }

  errors (contender: string): string[] {
    const seen = new Set<string>()
    for (const e of this.entries(contender)) {
      if (e?.error !== undefined) { seen.add(e.error) }
    }
    return [...seen]
  }

  failedRounds (contender: string): number {
    return this.entries(contender).filter(e => e?.error !== undefined).length
  }

  toJSON (): unknown {
    const results: Record<string, unknown> = {}
    for (const c of this.contenders) {
      const metrics: Record<string, unknown> = {}
      for (const m of this.spec.metrics) {
        metrics[m.key] = {
          median: finiteOrNull(this.median(c, m.key)),
          samples: this.values(c, m.key).map(finiteOrNull),
          ratio: finiteOrNull(this.ratio(c, m.key)),
          roundRatios: this.roundRatios(c, m.key).map(finiteOrNull)
        }
      }
      results[c] = { label: this.labels.get(c), metrics, errors: this.errors(c) }
    }
    return { case: this.spec.id, scenario: this.spec.scenario, title: this.spec.title, baseline: this.baseline, results }
  }
}

function finiteOrNull (n: number): number | null {
  return Number.isFinite(n) ? Number(n.toPrecision(6)) : null
}
