/**
 * The page's entry point: every browser-safe spec, then one mocha run whose
 * failure count goes back to the runner (test/browser/run.ts).
 */
// first, while no other spec has left sessions behind: it checks that the
// page's node releases every yamux timer when it stops
import './e2e.page.ts'
import '../environment.spec.ts'
import '../core/codec.spec.ts'
import '../core/session.spec.ts'
import '../core/protocol-errors.spec.ts'
import '../core/hostile-fuzz.spec.ts'
import '../core/flow-control.property.spec.ts'
import '../libp2p/muxer.spec.ts'
import '../libp2p/compliance.spec.ts'
import type { PageGlobals } from './protocol.ts'

mocha.run((failures) => { (globalThis as PageGlobals).yamuxSuiteDone?.(failures) })
