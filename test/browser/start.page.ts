/**
 * Imported last by the page's suite (built by test/browser/run.ts): starts
 * the mocha run and hands its failure count back to the runner.
 */
import type { PageGlobals } from './protocol.ts'

mocha.run((failures) => { (globalThis as PageGlobals).yamuxSuiteDone?.(failures) })
