/** Keys of VqIndex's internal methods (not part of the public API). */

/** The index's state, for VqShards (src/shards.ts). */
export const SHARD_STATE: unique symbol = Symbol('vqlite.shardState')

/** Encode-ahead adds, for streaming adds (engine/stream-add.ts): encode a block, then commit it. */
export const ENCODE_AHEAD: unique symbol = Symbol('vqlite.encodeAhead')
