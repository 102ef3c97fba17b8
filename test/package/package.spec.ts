/**
 * The package as users install it: `npm pack` output unpacked into a
 * node_modules folder. Only sources, dist/src, the polyfill and the licence
 * files ship; every subpath export loads from the installed copy; the Node 20
 * polyfill works with --import and --require by its package name.
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { expect } from 'aegir/chai'

const root = fileURLToPath(new URL('../../../', import.meta.url))
// inside the repository, so the unpacked package finds its dependencies in our node_modules
const project = join(root, '.cache', 'installed-package')
const installed = join(project, 'node_modules', 'libp2p-yamux')

interface PackedFile { path: string }

/** Runs node in the installed project without the test runner's preloaded polyfill. */
function node (args: string[]): string {
  const env = { ...process.env }
  delete env.NODE_OPTIONS
  return execFileSync(process.execPath, args, { cwd: project, env, encoding: 'utf8' }).trim()
}

describe('the published package', function () {
  this.timeout(120_000)
  let files: string[]

  before(() => {
    rmSync(project, { recursive: true, force: true })
    mkdirSync(installed, { recursive: true })
    const out = execFileSync('npm', ['pack', '--json', '--pack-destination', project], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
    const [packed] = JSON.parse(out) as Array<{ filename: string, files: PackedFile[] }>
    files = packed.files.map(f => f.path)
    execFileSync('tar', ['xzf', join(project, packed.filename), '-C', installed, '--strip-components=1'])
  })

  after(() => {
    rmSync(project, { recursive: true, force: true })
  })

  it('ships only src/, dist/src/, the polyfill, the licences and the package documents', () => {
    const allowed = /^(src\/|dist\/src\/|scripts\/node20-polyfill\.cjs$|LICENSE(-APACHE|-MIT)?$|package\.json$|README\.md$|CHANGELOG\.md$)/
    expect(files.filter(f => !allowed.test(f))).to.deep.equal([])
    expect(files.filter(f => f.startsWith('dist/benchmarks') || f.startsWith('dist/test'))).to.deep.equal([])
    expect(files).to.include.members(['LICENSE', 'LICENSE-APACHE', 'LICENSE-MIT', 'dist/src/index.js'])
  })

  it('every export target is in the tarball', () => {
    const pkg = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8'))
    const targets: string[] = []
    for (const target of Object.values(pkg.exports as Record<string, string | Record<string, string>>)) {
      targets.push(...(typeof target === 'string' ? [target] : Object.values(target)))
    }
    expect(targets.length).to.be.greaterThan(5)
    for (const target of targets) { expect(files, target).to.include(target.replace(/^\.\//, '')) }
  })

  it('every subpath export loads from the installed package', () => {
    const pkg = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8'))
    const subpaths = Object.keys(pkg.exports as Record<string, unknown>)
      .filter(s => s !== './polyfill')
      .map(s => s === '.' ? 'libp2p-yamux' : `libp2p-yamux/${s.slice(2)}`)
    const script = `const names = ${JSON.stringify(subpaths)}
      const counts = []
      for (const name of names) counts.push(Object.keys(await import(name)).length)
      console.log(JSON.stringify(counts))`
    const counts: number[] = JSON.parse(node(['--import', 'libp2p-yamux/polyfill', '--input-type=module', '-e', script]))
    expect(counts).to.have.length(subpaths.length)
    for (const count of counts) { expect(count).to.be.greaterThan(0) }
    expect(node(['--input-type=module', '-e', "const m = await import('libp2p-yamux'); console.log(typeof m.yamux, typeof m.TransportError)"])).to.equal('function function')
  })

  for (const flag of ['--import', '--require']) {
    it(`the Node 20 polyfill works with ${flag} libp2p-yamux/polyfill`, () => {
      expect(node([flag, 'libp2p-yamux/polyfill', '-e', 'console.log(typeof Promise.withResolvers, typeof Promise.withResolvers().promise.then)'])).to.equal('function function')
    })
  }
})
