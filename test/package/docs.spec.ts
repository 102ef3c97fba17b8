/**
 * What the documentation says matches what the code does: every `@default`
 * of the libp2p options and the README's option table agree with the
 * resolved defaults, the README's error table lists every error class, and
 * every file path the READMEs tell users to use exists.
 */
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { expect } from 'aegir/chai'
import * as coreErrors from '../../src/core/errors.ts'
import { yamux } from '../../src/index.ts'
import { resolveOptions } from '../../src/libp2p/options.ts'
import { directPair } from '../fixtures/direct-pair.ts'

const root = fileURLToPath(new URL('../../../', import.meta.url))
const read = (path: string): string => readFileSync(join(root, path), 'utf8')

/** The default the code applies to each libp2p option, by its libp2p name. */
async function resolvedDefaults (): Promise<Map<string, string>> {
  const resolved = resolveOptions({})
  const out = new Map<string, string>()
  for (const [name, value] of Object.entries(resolved.session)) {
    if (typeof value === 'number' || typeof value === 'boolean') { out.set(name === 'maxFrameSize' ? 'maxMessageSize' : name, String(value)) }
  }
  out.set('maxEarlyStreams', String(resolved.maxEarlyStreams))
  // the read buffer bound is the stream's own default
  const [a] = directPair()
  const stream = await yamux({ enableKeepAlive: false })().createStreamMuxer(a).createStream()
  out.set('streamOptions.maxReadBufferLength', String(stream.maxReadBufferLength))
  return out
}

/** `@default` values of the option interfaces in `file`, by option name. */
function jsdocDefaults (file: string, prefix = ''): Map<string, string> {
  const out = new Map<string, string>()
  for (const match of read(file).matchAll(/\/\*\*((?:(?!\*\/)[\s\S])*)\*\/\s*(\w+)\?:/g)) {
    const value = /@default\s+(\S+)/.exec(match[1])?.[1]
    if (value !== undefined) { out.set(prefix + match[2], value) }
  }
  return out
}

describe('documentation matches the code', () => {
  it('every @default of the libp2p options is the default the code applies', async () => {
    const actual = await resolvedDefaults()
    const documented = new Map([
      ...jsdocDefaults('src/session-options.ts'),
      ...jsdocDefaults('src/libp2p/options.ts')
    ])
    // the stream options interface is prefixed where it is used
    const readBuffer = documented.get('maxReadBufferLength')
    documented.delete('maxReadBufferLength')
    documented.set('streamOptions.maxReadBufferLength', readBuffer ?? 'missing')
    expect(documented.size).to.be.greaterThan(10)
    for (const [name, value] of documented) {
      expect(value.replace(/_/g, ''), `@default of ${name}`).to.equal(actual.get(name))
    }
  })

  it("the README's option table gives the default the code applies", async () => {
    const actual = await resolvedDefaults()
    let rows = 0
    for (const match of read('README.md').matchAll(/^\| `([\w.]+)`[^|]*\| [^|]* \| ([^|]+) \|/gm)) {
      const expected = actual.get(match[1])
      if (expected === undefined) { continue }
      rows++
      expect(match[2].trim(), `README default of ${match[1]}`).to.equal(expected)
    }
    expect(rows).to.be.greaterThan(10)
  })

  it("the README's error table lists every error class", () => {
    const readme = read('README.md')
    const classes = Object.entries(coreErrors).filter(([n, v]) => n !== 'YamuxError' && typeof v === 'function' && v.prototype instanceof Error)
    expect(classes.length).to.be.greaterThan(15)
    for (const [name] of classes) {
      expect(readme, name).to.match(new RegExp(`^\\| \`${name}\``, 'm'))
    }
  })

  it('every tsconfig and script path the READMEs mention exists', () => {
    for (const doc of ['README.md', 'benchmarks/README.md']) {
      for (const [path] of read(doc).matchAll(/tsconfig[\w.-]*\.json|\.\/scripts\/[\w.-]+/g)) {
        expect(existsSync(join(root, path)), `${doc} mentions ${path}`).to.equal(true)
      }
    }
  })
})
