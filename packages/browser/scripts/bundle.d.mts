export interface BundleResult { outfile: string, bytes: number, gzipBytes: number, budgetGzipBytes: number }
export const BUDGET_GZIP_BYTES: number
export function browserBuildOptions (entry: string, outfile: string, extra?: Record<string, unknown>): Record<string, unknown>
export function bundle (options?: { entry?: string, outfile?: string }): Promise<BundleResult>
