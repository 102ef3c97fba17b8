/** Prints the browser bundle sizes the README reports (npm run bundle-size). */
import { fileURLToPath } from 'node:url'
import { ENTRIES, bundle } from './bundles.ts'

const root = fileURLToPath(new URL('../../../', import.meta.url))
const print = (line: string): void => { process.stdout.write(`${line}\n`) }
const kB = (bytes: number): string => (bytes / 1000).toFixed(1)

print('| bundle (esbuild, minified) | minified kB | gzipped kB | own code, minified kB |')
print('|---|---:|---:|---:|')
for (const entry of ENTRIES) {
  const report = await bundle(entry, root)
  if (report.errors.length > 0) { throw new Error(`${entry.name}: ${report.errors.join('; ')}`) }
  print(`| ${entry.name} | ${kB(report.minified)} | ${kB(report.gzipped)} | ${kB(report.ownMinified)} |`)
}
