/**
 * Summarises a V8 `.cpuprofile` (from `node --cpu-prof`): the functions
 * with the most self time, aggregated by name and source location.
 *
 * `node dist/benchmarks/profile-summary.js <file.cpuprofile> [top=25]`
 */
import { readFileSync } from 'node:fs'

interface ProfileNode {
  id: number
  callFrame: { functionName: string, url: string, lineNumber: number }
  hitCount?: number
  children?: number[]
}

interface Profile {
  nodes: ProfileNode[]
  startTime: number
  endTime: number
  samples?: number[]
}

export function summarise (profile: Profile, top: number): string {
  const totalHits = profile.nodes.reduce((sum, n) => sum + (n.hitCount ?? 0), 0)
  const msPerHit = totalHits > 0 ? (profile.endTime - profile.startTime) / 1000 / totalHits : 0
  const byFunction = new Map<string, number>()
  const byFile = new Map<string, number>()
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0
    if (hits === 0) { continue }
    const { functionName, url, lineNumber } = node.callFrame
    const path = url.replace(/^file:\/\//, '')
    const file = path.includes('/node_modules/') ? path.replace(/^.*\/node_modules\//, 'node_modules/') : path.replace(/^.*\/dist\//, 'dist/')
    const key = `${functionName === '' ? '(anonymous)' : functionName}  ${file === '' ? '' : `${file}:${lineNumber + 1}`}`
    byFunction.set(key, (byFunction.get(key) ?? 0) + hits)
    const group = file === '' ? `(${functionName})` : file.replace(/^(node_modules\/(@[^/]+\/)?[^/]+).*$/, '$1')
    byFile.set(group, (byFile.get(group) ?? 0) + hits)
  }
  // inclusive time: a node's hits plus its subtree's, counted once per function on a stack
  const byId = new Map(profile.nodes.map(n => [n.id, n]))
  const inclusive = new Map<string, number>()
  const keyOf = (n: ProfileNode): string => {
    const path = n.callFrame.url.replace(/^file:\/\//, '')
    const file = path.includes('/node_modules/') ? path.replace(/^.*\/node_modules\//, 'node_modules/') : path.replace(/^.*\/dist\//, 'dist/')
    return `${n.callFrame.functionName === '' ? '(anonymous)' : n.callFrame.functionName}  ${file === '' ? '' : `${file}:${n.callFrame.lineNumber + 1}`}`
  }
  const walk = (id: number, onStack: Set<string>): number => {
    const node = byId.get(id)
    if (node === undefined) { return 0 }
    const key = keyOf(node)
    const fresh = !onStack.has(key)
    if (fresh) { onStack.add(key) }
    let hits = node.hitCount ?? 0
    for (const child of node.children ?? []) { hits += walk(child, onStack) }
    if (fresh) {
      onStack.delete(key)
      inclusive.set(key, (inclusive.get(key) ?? 0) + hits)
    }
    return hits
  }
  if (profile.nodes.length > 0) { walk(profile.nodes[0].id, new Set()) }
  const pct = (hits: number): string => `${(hits / totalHits * 100).toFixed(1).padStart(5)}%  ${(hits * msPerHit).toFixed(0).padStart(6)} ms`
  const lines = [`total ${(totalHits * msPerHit).toFixed(0)} ms sampled`, '', 'self time by function:']
  for (const [key, hits] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    lines.push(`${pct(hits)}  ${key}`)
  }
  lines.push('', 'inclusive time (self + callees) of our code and the libp2p base classes:')
  const interesting = [...inclusive].filter(([key]) => /dist\/src\/|@libp2p\/utils|dist\/test\/fixtures|dist\/benchmarks|@chainsafe|@libp2p\/mplex/.test(key))
  for (const [key, hits] of interesting.sort((a, b) => b[1] - a[1]).slice(0, top)) {
    lines.push(`${pct(hits)}  ${key}`)
  }
  lines.push('', 'self time by package / file:')
  for (const [key, hits] of [...byFile].sort((a, b) => b[1] - a[1]).slice(0, 15)) {
    lines.push(`${pct(hits)}  ${key}`)
  }
  return lines.join('\n')
}

const file = process.argv[2]
if (file !== undefined && process.argv[1]?.endsWith('profile-summary.js') === true) {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile
  process.stdout.write(summarise(profile, Number(process.argv[3] ?? 25)) + '\n')
}
