/**
 * The package root, libp2p-yamux/core and libp2p-yamux/v2 bundle for the
 * browser: no Node built-in modules, no Node globals, and the core pulls in
 * nothing but itself. (Sizes for the README: npm run bundle-size.)
 */
import { fileURLToPath } from 'node:url'
import { expect } from 'aegir/chai'
import { ENTRIES, bundle } from './bundles.ts'

const root = fileURLToPath(new URL('../../../', import.meta.url))

describe('browser bundles (esbuild, platform browser)', function () {
  this.timeout(60_000)

  for (const entry of ENTRIES.filter(e => e.name.startsWith('libp2p-yamux'))) {
    it(`${entry.name}: bundles with no Node built-in and no Node global`, async () => {
      const report = await bundle(entry, root)
      expect(report.errors).to.deep.equal([])
      expect(report.nodeGlobals).to.deep.equal([])
      expect(report.minified).to.be.greaterThan(0)
    })
  }

  it('libp2p-yamux/core: holds only the core (sans-I/O, no dependencies)', async () => {
    const report = await bundle(ENTRIES.find(e => e.name === 'libp2p-yamux/core') ?? ENTRIES[0], root)
    expect(report.inputs.filter(input => !input.startsWith('dist/src/core/'))).to.deep.equal([])
  })

  it('the checks catch a Node built-in and a Node global', async () => {
    const builtin = await bundle({ name: 'built-in', source: "export { createHash } from 'node:crypto'", own: /x/ }, root)
    expect(builtin.errors.join('\n')).to.include('node:crypto')
    const global = await bundle({ name: 'global', source: 'export const b = Buffer.from([1]); export const e = process.env', own: /x/ }, root)
    expect(global.nodeGlobals).to.deep.equal(['Buffer in app.js', 'process in app.js'])
  })
})
