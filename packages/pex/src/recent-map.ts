/**
 * A Map that holds at most `limit` entries: setting a key makes it the newest, and beyond the
 * limit the oldest are forgotten. The PEX reactor's per-peer and per-address bookkeeping uses it,
 * so a stream of new IDs or dead addresses cannot grow it without end.
 */
export class RecentMap<K, V> extends Map<K, V> {
  readonly limit: number

  constructor (limit: number) {
    super()
    if (!(Number.isInteger(limit) && limit >= 1)) throw new RangeError(`limit must be an integer >= 1, got ${limit}`)
    this.limit = limit
  }

  override set (key: K, value: V): this {
    super.delete(key)
    super.set(key, value)
    for (const k of this.keys()) {
      if (this.size <= this.limit) break
      this.delete(k)
    }
    return this
  }
}
