/** The key of VqIndex's internal accessor of its state, for VqShards (not part of the public API). */
export const SHARD_STATE: unique symbol = Symbol('vqlite.shardState')
