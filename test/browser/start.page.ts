/**
 * Imported last by the page's suite (built by test/browser/run.ts): starts
 * the mocha run, reports unhandled rejections with the test that was running,
 * and hands the failure count back to the runner.
 */
import type { PageGlobals } from './protocol.ts'

const page = globalThis as PageGlobals
let running = ''

globalThis.addEventListener('unhandledrejection', (evt) => {
  evt.preventDefault()
  const reason = evt.reason
  page.yamuxPageError?.({
    during: running,
    name: reason?.name ?? typeof reason,
    message: reason?.message ?? String(reason),
    stack: reason?.stack ?? ''
  })
})

page.yamuxSuiteStarted?.()
const runner = mocha.run((failures) => { page.yamuxSuiteDone?.(failures) })
runner.on('test', (test) => { running = test.fullTitle() })
runner.on('hook', (hook) => { running = hook.fullTitle() })
