/**
 * Runs the browser suite in headless Chromium: bundles every spec that does
 * not need Node.js (all but NODE_ONLY) and the page's own end-to-end spec
 * with esbuild for the browser, serves them from 127.0.0.1 (the page's
 * libp2p node may only dial 127.0.0.1 from there), starts the Node.js peers
 * the page dials, and drives mocha in the page with playwright-core.
 *
 * Chromium: $CHROMIUM_PATH, else chromium, chromium-browser or google-chrome
 * on the PATH. With `--if-chromium` (npm test) a missing Chromium is reported
 * loudly and the run exits 0; without it (npm run test:browser), or with
 * YAMUX_BROWSER_TESTS=required (CI), a missing Chromium fails.
 * YAMUX_BROWSER_TESTS=skip skips the run, saying so.
 */
import { accessSync, constants, readdirSync, readFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { createRequire } from 'node:module'
import { delimiter, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { chromium } from 'playwright-core'
import { NodePeers } from './node-peers.ts'
import type { PageError, PageGlobals } from './protocol.ts'
import type { AddressInfo } from 'node:net'

/** The whole run may take this long before it is declared hung. */
const RUN_TIMEOUT = 15 * 60_000

function findChromium (): string | undefined {
  if (process.env.CHROMIUM_PATH !== undefined && process.env.CHROMIUM_PATH !== '') { return process.env.CHROMIUM_PATH }
  for (const name of ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable']) {
    for (const dir of (process.env.PATH ?? '').split(delimiter)) {
      if (dir === '') { continue }
      try {
        accessSync(join(dir, name), constants.X_OK)
        return join(dir, name)
      } catch {
        // not there: try the next
      }
    }
  }
  return undefined
}

/**
 * Specs (or folders of specs, ending in /) that need Node.js, and why; every
 * other spec under test/ runs in the page too.
 */
const NODE_ONLY = new Map([
  ['bundle/', 'runs esbuild'],
  ['hostile/', 'node:net sockets and heap measurements'],
  ['libp2p/e2e.spec.js', '@libp2p/tcp; browser/e2e.page is its WebSockets twin in the page'],
  ['libp2p/e2e-process.spec.js', 'a child process over @libp2p/tcp'],
  ['node/', 'the Node.js API (libp2p-yamux/node)'],
  ['package/', 'reads files and packs the tarball'],
  ['shapes/', 'V8 natives syntax in a child process'],
  ['soak/', 'heap and RSS measurements'],
  ['v2/e2e.spec.js', 'libp2p 2 over @libp2p/tcp'],
  ['yamux-js/', 'yamux-js and the Node.js API over node:net sockets']
])

function nodeOnly (spec: string): boolean {
  for (const path of NODE_ONLY.keys()) {
    if (path.endsWith('/') ? spec.startsWith(path) : spec === path) { return true }
  }
  return false
}

/**
 * Unhandled rejections that test suites we do not own cause themselves, and
 * why; any other unhandled rejection in the page fails the run.
 */
const KNOWN_REJECTIONS: Array<{ during: RegExp, name: string, why: string }> = [{
  during: /^libp2p v2 stream-muxer compliance .* closing underlying socket closes streams$/,
  name: 'TransportClosedError',
  why: 'the v6 compliance test pipes into its streams with `void Promise.all(...)` and no catch; ' +
    'the transport ends without GoAway, so our v2 muxer aborts the unfinished streams with TransportClosedError'
}]

/** Paths of the compiled specs under `dir`, relative to it, sorted. */
function findSpecs (dir: string, prefix = ''): string[] {
  const found: string[] = []
  for (const entry of readdirSync(join(dir, prefix), { withFileTypes: true })) {
    const path = prefix === '' ? entry.name : `${prefix}/${entry.name}`
    if (entry.isDirectory()) {
      found.push(...findSpecs(dir, path))
    } else if (entry.name.endsWith('.spec.js')) {
      found.push(path)
    }
  }
  return found.sort()
}

/** The page's suite: the end-to-end spec first, every browser-safe spec, then the start of the run. */
async function bundleSuite (): Promise<{ bundle: string, specs: string[] }> {
  const testDir = fileURLToPath(new URL('../', import.meta.url))
  const specs = findSpecs(testDir).filter(spec => !nodeOnly(spec))
  const imports = [
    // first, while no other spec has left sessions behind: it checks that
    // the page's node releases every yamux timer when it stops
    'browser/e2e.page.js',
    ...specs,
    'browser/start.page.js'
  ]
  try {
    const result = await build({
      stdin: { contents: imports.map(path => `import './${path}'`).join('\n'), resolveDir: testDir, sourcefile: 'suite.js' },
      bundle: true,
      platform: 'browser',
      format: 'esm',
      target: 'es2022',
      write: false,
      logLevel: 'error'
    })
    return { bundle: result.outputFiles[0].text, specs }
  } catch (err: any) {
    throw new Error('the browser suite does not bundle (above). A spec that needs Node.js belongs in ' +
      'NODE_ONLY in test/browser/run.ts, with the reason; one that should run in browsers must not use Node.js APIs', { cause: err })
  }
}

const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>libp2p-yamux browser suite</title>
<link rel="icon" href="data:,">
<script>
  // console messages reach the runner as text: apply printf-style
  // formatting (mocha's reporter uses it) before they leave the page
  for (const level of ['log', 'info', 'warn', 'error']) {
    const write = console[level].bind(console)
    console[level] = (...args) => {
      if (typeof args[0] !== 'string') { write(...args); return }
      let next = 1
      const text = args[0].replace(/%[sdifoOjc%]/g, (spec) => {
        if (spec === '%%') { return '%' }
        if (next >= args.length) { return spec }
        const arg = args[next++]
        return spec === '%c' ? '' : String(arg)
      })
      write([text, ...args.slice(next).map(String)].join(' '))
    }
  }
</script>
<script src="/mocha.js"></script>
<script>mocha.setup({ ui: 'bdd', reporter: 'spec', timeout: 60000 })</script>
<script type="module" src="/suite.js"></script>
`

function print (text: string): void {
  process.stdout.write(`${text}\n`)
}

async function main (): Promise<number> {
  const mode = process.env.YAMUX_BROWSER_TESTS
  if (mode === 'skip') {
    print('\n  browser tests skipped (YAMUX_BROWSER_TESTS=skip)\n')
    return 0
  }
  const optional = process.argv.includes('--if-chromium') && mode !== 'required'
  const executablePath = findChromium()
  if (executablePath === undefined) {
    const banner = [
      '',
      '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!',
      '!! BROWSER TESTS NOT RUN: no Chromium found (looked at $CHROMIUM_PATH and for',
      '!! chromium, chromium-browser, google-chrome on the PATH).',
      '!! Install one (Debian: apt-get install chromium) or set CHROMIUM_PATH.',
      '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!',
      ''
    ].join('\n')
    process.stderr.write(`${banner}\n`)
    return optional ? 0 : 1
  }

  const require = createRequire(import.meta.url)
  const { bundle, specs } = await bundleSuite()
  const files: Record<string, { type: string, body: string | Buffer }> = {
    '/': { type: 'text/html', body: PAGE },
    '/mocha.js': { type: 'text/javascript', body: readFileSync(require.resolve('mocha/mocha.js')) },
    '/suite.js': { type: 'text/javascript', body: bundle }
  }
  const server = createServer((req, res) => {
    const file = files[req.url ?? '']
    if (file === undefined) {
      res.writeHead(404).end()
      return
    }
    res.writeHead(200, { 'content-type': file.type }).end(file.body)
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`

  const peers = await NodePeers.start()
  const browser = await chromium.launch({ executablePath })
  try {
    const version = browser.version()
    print(`\n  browser suite: Chromium ${version} (${executablePath}), page ${url}`)
    print(`  in the page: browser/e2e.page.js, ${specs.join(', ')}`)
    print(`  Node.js only: ${[...NODE_ONLY].map(([spec, why]) => `${spec}: ${why}`).join('; ')}`)
    const page = await browser.newPage()
    const pageErrors: string[] = []
    page.on('console', (msg) => { print(msg.text()) })
    let finish: (failures: number) => void = () => {}
    const done = new Promise<number>(resolve => { finish = resolve })
    let started = false
    await page.exposeFunction('yamuxSuiteStarted', () => { started = true })
    await page.exposeFunction('yamuxSuiteDone', (failures: number) => { finish(failures) })
    page.on('pageerror', (err) => {
      pageErrors.push(err.stack ?? err.message)
      print(`page error: ${err.stack ?? err.message}`)
      // an error while the specs load means the run never starts
      if (!started) { finish(-1) }
    })
    page.on('crash', () => {
      pageErrors.push('the page crashed')
      finish(-1)
    })
    const knownRejections: string[] = []
    await page.exposeFunction('yamuxPageError', (error: PageError) => {
      const known = KNOWN_REJECTIONS.find(k => k.during.test(error.during) && k.name === error.name)
      if (known !== undefined) {
        knownRejections.push(`${error.name} during "${error.during}": ${known.why}`)
        return
      }
      pageErrors.push(`unhandled rejection during "${error.during}": ${error.stack !== '' ? error.stack : `${error.name}: ${error.message}`}`)
      print(`page error: ${pageErrors[pageErrors.length - 1]}`)
    })
    await page.addInitScript((infos) => { (globalThis as PageGlobals).yamuxNodePeers = infos }, peers.infos())
    await page.exposeFunction('yamuxNodePeerCall', async (name: string, call: string, arg: unknown) => peers.call(name, call, arg))
    let watchdog: ReturnType<typeof setTimeout> | undefined
    const hung = new Promise<never>((resolve, reject) => {
      watchdog = setTimeout(() => { reject(new Error(`the browser suite did not finish in ${RUN_TIMEOUT / 60_000} min`)) }, RUN_TIMEOUT)
    })
    await page.goto(url)
    const failures = await Promise.race([done, hung]).finally(() => { clearTimeout(watchdog) })
    for (const known of knownRejections) { print(`  known unhandled rejection (not ours): ${known}`) }
    if (pageErrors.length > 0) {
      print(`\n  browser suite: ${pageErrors.length} uncaught error(s) or unhandled rejection(s) in the page:`)
      for (const error of pageErrors) { print(`    ${error.split('\n')[0]}`) }
    }
    const ok = failures === 0 && pageErrors.length === 0
    print(`  browser suite in Chromium ${version}: ${ok ? 'passed' : 'FAILED'}\n`)
    return ok ? 0 : 1
  } finally {
    await browser.close()
    await peers.stop()
    server.close()
  }
}

main().then((code) => { process.exitCode = code }, (err) => {
  print(`browser suite: ${err.stack ?? err}`)
  process.exitCode = 1
})
