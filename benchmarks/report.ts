/**
 * Output: a markdown table per case, a `BENCH_JSON ` line per case, an SVG
 * bar chart written by hand, and RESULTS.md with the machine, the package
 * versions and the goals table (goals.ts).
 */
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { forcedGcBeforeRuns } from './harness.ts'
import type { BenchConfig } from './config.ts'
import type { CaseResult, MetricSpec } from './results.ts'

// ---- numbers ----

export function fmt (value: number, digits: number): string {
  if (!Number.isFinite(value)) { return 'n/a' }
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
}

function fmtRatio (value: number): string {
  return Number.isFinite(value) ? `${value.toFixed(2)}×` : 'n/a'
}

function showsRatio (metric: MetricSpec): boolean {
  return metric.ratio !== false
}

// ---- markdown ----

export function caseTable (result: CaseResult): string {
  const { spec } = result
  const base = result.baseline
  const head: string[] = ['contender']
  for (const m of spec.metrics) {
    head.push(`${m.label} (median)`)
    if (showsRatio(m)) { head.push(`× ${base}`) }
    if (m.key === spec.primary) { head.push('per-round ×') }
  }
  head.push('ok runs')
  const lines = [`### ${spec.title}`, '', `| ${head.join(' | ')} |`, `|${head.map((_, i) => i === 0 ? ' --- ' : ' ---: ').join('|')}|`]
  for (const c of result.contenders) {
    const cells: string[] = [result.labels.get(c) ?? c]
    for (const m of spec.metrics) {
      cells.push(fmt(result.median(c, m.key), m.digits))
      if (showsRatio(m)) { cells.push(fmtRatio(result.ratio(c, m.key))) }
      if (m.key === spec.primary) {
        cells.push(result.roundRatios(c, m.key).map(r => Number.isFinite(r) ? r.toFixed(2) : '–').join(' / '))
      }
    }
    const entries = result.entries(c)
    const total = entries.filter(e => e !== undefined).length
    cells.push(`${total - result.failedRounds(c)}/${total}`)
    lines.push(`| ${cells.join(' | ')} |`)
  }
  lines.push('')
  for (const note of spec.notes ?? []) { lines.push(`- ${note}`) }
  for (const c of result.contenders) {
    const errors = result.errors(c)
    if (errors.length > 0) {
      lines.push(`- **${result.labels.get(c) ?? c} failed in ${result.failedRounds(c)} run(s):** ${errors.map(e => `\`${e.replace(/`/g, "'").replace(/\s+/g, ' ').slice(0, 300)}\``).join('; ')}`)
    }
  }
  lines.push('')
  return lines.join('\n')
}

export function jsonLine (result: CaseResult): string {
  return `BENCH_JSON ${JSON.stringify(result.toJSON())}`
}

// ---- SVG ----

const COLORS: Record<string, string> = {
  bare: '#8c8c8c',
  ours: '#1f77b4',
  chainsafe: '#ff7f0e',
  mplex: '#9467bd',
  socket: '#8c8c8c',
  node: '#1f77b4',
  'yamux-js-ours': '#17becf',
  'yamux-js': '#d62728'
}

function esc (text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

export function svgChart (results: CaseResult[], subtitle: string): string {
  interface Panel { title: string, better: string, rows: Array<{ name: string, label: string, value: number, digits: number, failed: boolean }> }
  const panels: Panel[] = []
  for (const r of results) {
    for (const key of r.spec.chart ?? [r.spec.primary]) {
      const metric = r.spec.metrics.find(m => m.key === key)
      if (metric === undefined) { continue }
      panels.push({
        title: `${r.spec.short} — ${metric.label}`,
        better: metric.better === 'higher' ? 'higher is better' : 'lower is better',
        rows: r.contenders.map(c => ({
          name: c,
          label: r.labels.get(c) ?? c,
          value: r.median(c, key),
          digits: metric.digits,
          failed: r.failedRounds(c) > 0 && !Number.isFinite(r.median(c, key))
        }))
      })
    }
  }
  const colWidth = 520
  const labelWidth = 170
  const barMax = 250
  const rowH = 20
  const columns = 2
  const heights = panels.map(p => 34 + p.rows.length * rowH + 14)
  const rowsOfPanels = Math.ceil(panels.length / columns)
  const rowHeights: number[] = []
  for (let i = 0; i < rowsOfPanels; i++) {
    rowHeights.push(Math.max(...heights.slice(i * columns, i * columns + columns)))
  }
  const top = 60
  const width = colWidth * columns + 20
  const height = top + rowHeights.reduce((a, b) => a + b, 0) + 40
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`,
    '<text x="10" y="24" font-size="18" font-weight="bold">libp2p-yamux benchmarks (medians)</text>',
    `<text x="10" y="44" fill="#555">${esc(subtitle)}</text>`
  ]
  let y = top
  panels.forEach((panel, i) => {
    const col = i % columns
    if (col === 0 && i > 0) { y += rowHeights[Math.floor(i / columns) - 1] }
    const x = 10 + col * colWidth
    out.push(`<text x="${x}" y="${y + 16}" font-weight="bold">${esc(panel.title)}</text>`)
    out.push(`<text x="${x + colWidth - 30}" y="${y + 16}" text-anchor="end" fill="#777" font-size="10">${panel.better}</text>`)
    const max = Math.max(...panel.rows.map(r => Number.isFinite(r.value) ? r.value : 0), 0)
    panel.rows.forEach((row, j) => {
      const ry = y + 28 + j * rowH
      out.push(`<text x="${x + labelWidth - 6}" y="${ry + 13}" text-anchor="end">${esc(row.label)}</text>`)
      if (Number.isFinite(row.value)) {
        const w = max > 0 ? Math.max(1, row.value / max * barMax) : 1
        out.push(`<rect x="${x + labelWidth}" y="${ry + 2}" width="${w.toFixed(1)}" height="${rowH - 6}" fill="${COLORS[row.name] ?? '#444'}"/>`)
        out.push(`<text x="${(x + labelWidth + w + 5).toFixed(1)}" y="${ry + 13}">${esc(fmt(row.value, row.digits))}</text>`)
      } else {
        out.push(`<text x="${x + labelWidth + 5}" y="${ry + 13}" fill="#b00">${row.failed ? 'failed' : 'n/a'}</text>`)
      }
    })
  })
  out.push('</svg>')
  return out.join('\n') + '\n'
}

// ---- environment ----

function version (root: string, pkg: string): string {
  try {
    const json = JSON.parse(readFileSync(path.join(root, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }
    return json.version
  } catch {
    return 'not installed'
  }
}

export function environment (root: string): string {
  const cpus = os.cpus()
  let own = '?'
  try {
    own = (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }).version
  } catch {
    // keep '?'
  }
  const pkgs = ['@chainsafe/libp2p-yamux', '@libp2p/mplex', 'yamux-js', '@libp2p/tcp', '@libp2p/utils', '@libp2p/interface', 'libp2p', 'uint8arraylist', '@chainsafe/libp2p-yamux-v7', '@libp2p/interface-v2']
  let commit = 'unknown'
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim()
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: root, encoding: 'utf8' }).trim() !== ''
    commit = `${head}${dirty ? ' with uncommitted changes in src/ (the working tree was measured)' : ''}`
  } catch {
    // not a git checkout
  }
  const lines = [
    `- code: commit ${commit}`,
    `- machine: ${cpus.length} × ${cpus[0]?.model ?? 'unknown CPU'}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, ${os.type()} ${os.release()} ${os.arch()}`,
    `- node: ${process.version} (flags: ${process.execArgv.join(' ')})`,
    `- packages: libp2p-yamux (ours) ${own}, ${pkgs.map(p => `${p} ${version(root, p)}`).join(', ')}`
  ]
  return lines.join('\n') + '\n'
}

export interface ResultsDocument {
  root: string
  config: BenchConfig
  results: CaseResult[]
  /** The goals table (goals.ts), markdown. */
  goalsTable: string
  startedAt: Date
  seconds: number
  /** os.loadavg() when the run started. */
  loadAtStart: number[]
  /** The chart written beside the document. */
  chart: string
}

export function resultsMarkdown (doc: ResultsDocument): string {
  const { config } = doc
  const MiB = 1024 * 1024
  const parts: string[] = [
    '# Benchmark results',
    '',
    `Written by \`npm run bench\` on ${doc.startedAt.toISOString()} (run took ${doc.seconds.toFixed(0)} s${config.quick ? ', BENCH_QUICK=1 smoke run' : ''}). See [README.md](./README.md) for what each scenario does; chart: [${doc.chart}](./${doc.chart}).`,
    '',
    environment(doc.root),
    `- load average (1/5/15 min): ${doc.loadAtStart.map(l => l.toFixed(2)).join(' / ')} at the start, ${os.loadavg().map(l => l.toFixed(2)).join(' / ')} at the end (other processes on this 2-core machine add noise)`,
    '',
    `Settings: ${config.fullStackRounds} full-stack rounds of ${config.fullStackBytes / MiB} MiB (${config.fullStackStreams.join(', ')} streams); ${config.rounds} throughput rounds of ${config.totalBytes / MiB} MiB in ${config.writeSize / 1024} KiB writes; ${config.splitRounds} two-process rounds of ${config.splitBytes / MiB} MiB (${config.splitStreams.join(', ')} streams); churn ${config.churnStreams} streams × ${config.churnRounds} rounds; memory ${config.memoryStreams} streams × ${config.memoryRounds} rounds; opening ${config.memoryStreams} streams × ${config.openRounds} rounds; wire ${config.wireBytes / MiB} MiB. Contenders run interleaved, round by round, in a rotating order${config.isolate ? ', each in its own long-lived worker process (one run at a time)' : ', all in one process'}. ${forcedGcBeforeRuns() ? 'Each timed run starts after a forced full GC' : 'Timed runs start without a forced GC (BENCH_GC=0: steady state)'}. Values are medians over rounds; "× X" is the median of the per-round ratios to the first row (X); "per-round ×" lists them. MB = 10^6 bytes. CPU = process.cpuUsage() (user + system) of the one process that runs both ends (scenario 7: of each of its two processes).`,
    '',
    '## Goals (issue 14)',
    '',
    'Ratios are medians of per-round ratios (ours ÷ the reference in the same round). "ours vs the others": the same ratio to chainsafe and to mplex.',
    '',
    doc.goalsTable,
    '## Tables',
    ''
  ]
  for (const r of doc.results) { parts.push(caseTable(r)) }
  return parts.join('\n')
}
