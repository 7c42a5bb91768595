import type { BundleResult } from '../../../packages/browser/scripts/bundle.mjs'
export function buildPage (): Promise<BundleResult>
