/**
 * Browser bundles of the package's entry points (and of
 * `@chainsafe/libp2p-yamux` for comparison), built with esbuild as a web app
 * would: Node built-ins fail the build, references to Node globals are
 * found, minified and gzipped sizes are measured.
 */
import { gzipSync } from 'node:zlib'
import { build } from 'esbuild'
import type { Message } from 'esbuild'

/** Free identifiers that exist in Node.js but not in browsers. */
const NODE_GLOBALS = ['process', 'Buffer', 'global', 'require', '__dirname', '__filename', 'setImmediate', 'clearImmediate']
const MARKER = '__NODE_GLOBAL_'

export interface BundleEntry {
  name: string
  /** The module a browser app would write, importing from package names. */
  source: string
  /** Which input files count as the package's own code. */
  own: RegExp
}

export interface BundleReport {
  name: string
  /** esbuild's errors: for a Node built-in, "Could not resolve ..." naming it. */
  errors: string[]
  /** `global in file` for each reference to a Node global left in the bundle. */
  nodeGlobals: string[]
  /** Input files that ended up in the bundle. */
  inputs: string[]
  minified: number
  gzipped: number
  /** Minified bytes coming from the package's own files. */
  ownMinified: number
}

export const ENTRIES: BundleEntry[] = [
  { name: 'libp2p-yamux: yamux()', source: "export { yamux } from 'libp2p-yamux'", own: /^dist\/src\// },
  { name: 'libp2p-yamux: all root exports', source: "export * from 'libp2p-yamux'", own: /^dist\/src\// },
  { name: 'libp2p-yamux/core', source: "export * from 'libp2p-yamux/core'", own: /^dist\/src\// },
  { name: 'libp2p-yamux/v2: yamux()', source: "export { yamux } from 'libp2p-yamux/v2'", own: /^dist\/src\// },
  { name: '@chainsafe/libp2p-yamux: yamux()', source: "export { yamux } from '@chainsafe/libp2p-yamux'", own: /node_modules\/@chainsafe\/libp2p-yamux\// }
]

function formatMessage (message: Message): string {
  const where = message.location !== null ? ` (${message.location.file}:${message.location.line})` : ''
  return `${message.text}${where}`
}

/** Bundles `entry` for the browser twice: readable (to locate Node globals) and minified (to measure). */
export async function bundle (entry: BundleEntry, root: string): Promise<BundleReport> {
  const options = {
    stdin: { contents: entry.source, resolveDir: root, sourcefile: 'app.js' },
    absWorkingDir: root,
    bundle: true,
    platform: 'browser' as const,
    format: 'esm' as const,
    write: false as const,
    metafile: true as const,
    logLevel: 'silent' as const,
    legalComments: 'none' as const,
    outfile: 'app.bundle.js',
    define: Object.fromEntries(NODE_GLOBALS.map(name => [name, `${MARKER}${name}`]))
  }
  try {
    const readable = await build(options)
    const nodeGlobals: string[] = []
    let file = ''
    for (const line of readable.outputFiles[0].text.split('\n')) {
      const comment = /^\/\/ (\S+)$/.exec(line)
      if (comment !== null) { file = comment[1] }
      for (const match of line.matchAll(new RegExp(`${MARKER}(\\w+)`, 'g'))) { nodeGlobals.push(`${match[1]} in ${file}`) }
    }
    const minified = await build({ ...options, minify: true })
    const text = minified.outputFiles[0].text
    const output = Object.values(minified.metafile.outputs)[0]
    let ownMinified = 0
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      if (entry.own.test(input)) { ownMinified += bytesInOutput }
    }
    return {
      name: entry.name,
      errors: [],
      nodeGlobals,
      inputs: Object.keys(output.inputs).filter(input => output.inputs[input].bytesInOutput > 0),
      minified: Buffer.byteLength(text),
      gzipped: gzipSync(text, { level: 9 }).byteLength,
      ownMinified
    }
  } catch (err: any) {
    const errors: Message[] = err.errors ?? [{ text: String(err), location: null }]
    return { name: entry.name, errors: errors.map(formatMessage), nodeGlobals: [], inputs: [], minified: 0, gzipped: 0, ownMinified: 0 }
  }
}
