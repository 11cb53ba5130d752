/**
 * PostgreSQL as the shared store of a vqlite index served by many stateless search
 * processes (docs/scale-out.md explains the choice). PostgreSQL holds the truth: the trained
 * model, and per item its float32 vector, metadata, a deleted flag and `seq`, the number of
 * the write that last changed it. Each search process keeps a disposable vqlite replica
 * (a local index file made from the model with VqIndex.createFromModel, so it encodes exactly
 * as every other replica) and catches up by reading the rows whose seq is above the last one
 * it applied.
 *
 * Writes are one PostgreSQL transaction each, holding an advisory lock on the index, so that
 * seq grows in commit order (a reader that has applied seq s has seen every write up to s) and
 * the NOTIFY sent in the same transaction reaches the other processes only once the write is
 * visible. A killed writer's transaction rolls back whole; a killed search process loses
 * nothing (its replica is rebuilt from PostgreSQL on start).
 *
 * Tables: vq_indexes (name, model: msgpack bytea, dim), vq_items (index_name, id, vector
 * bytea, metadata jsonb, seq, deleted), the sequence vq_seq. This is a prototype: tombstones
 * of deleted items are kept (a vacuum step would drop those every replica has applied).
 */
import { pack, unpack } from 'msgpackr'
import type pg from 'pg'
import { MAX_ID, type SearchOptions, type TrainedModel, VqIndex, VqInputError, VqStateError } from 'vqlite'

const SCHEMA = `
CREATE TABLE IF NOT EXISTS vq_indexes (name text PRIMARY KEY, dim integer NOT NULL, model bytea NOT NULL);
CREATE TABLE IF NOT EXISTS vq_items (
  index_name text NOT NULL REFERENCES vq_indexes(name),
  id bigint NOT NULL,
  vector bytea,
  metadata jsonb,
  seq bigint NOT NULL,
  deleted boolean NOT NULL DEFAULT false,
  PRIMARY KEY (index_name, id)
);
CREATE INDEX IF NOT EXISTS vq_items_seq ON vq_items (index_name, seq);
CREATE SEQUENCE IF NOT EXISTS vq_seq;
`

/** The NOTIFY channel; the payload is the index name. */
export const CHANNEL = 'vqlite_changes'

/** One changed item, as a replica applies it. */
export interface ChangeRow {
  readonly id: number
  readonly seq: number
  readonly deleted: boolean
  readonly vector: Float32Array | null
  readonly metadata: unknown
}

function modelBytes(m: TrainedModel): Buffer {
  const arrays: Record<string, { shape: readonly number[]; data: Buffer }> = {}
  for (const [name, a] of Object.entries(m.arrays))
    arrays[name] = { shape: a.shape, data: Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength) }
  return pack({ ...m, arrays })
}

function modelOf(b: Buffer): TrainedModel {
  const m = unpack(b) as Omit<TrainedModel, 'arrays'> & { arrays: Record<string, { shape: number[]; data: Uint8Array }> }
  const arrays: Record<string, { shape: number[]; data: Float32Array }> = {}
  for (const [name, a] of Object.entries(m.arrays)) {
    const copy = new Uint8Array(a.data.byteLength)
    copy.set(a.data)
    arrays[name] = { shape: a.shape, data: new Float32Array(copy.buffer) }
  }
  return { ...m, arrays }
}

/** A float32 vector as bytea, and back (little-endian, as Node stores it on x86 and ARM). */
const vectorBytes = (x: Float32Array): Buffer => Buffer.from(x.buffer, x.byteOffset, x.byteLength)
function vectorOf(b: Buffer): Float32Array {
  const out = new Float32Array(b.byteLength / 4)
  new Uint8Array(out.buffer).set(b)
  return out
}

/** The store of one index in a PostgreSQL database. */
export class PgVectorStore {
  readonly pool: pg.Pool
  readonly name: string

  constructor(pool: pg.Pool, name: string) {
    this.pool = pool
    this.name = name
  }

  /** Creates the tables if they are missing (idempotent). */
  static async ensureSchema(pool: pg.Pool): Promise<void> {
    await pool.query(SCHEMA)
  }

  /** Registers the index with its trained model (ID_EXISTS when the name is taken). */
  async create(model: TrainedModel): Promise<void> {
    if (model.ids !== 'integer') throw new VqInputError('ID_KIND', 'the PostgreSQL store takes integer ids')
    if (model.storeVectors === 'none')
      throw new VqInputError('BAD_ARGUMENT', 'the replicas re-rank on stored vectors: the model must store vectors')
    await PgVectorStore.ensureSchema(this.pool)
    const r = await this.pool.query('INSERT INTO vq_indexes (name, dim, model) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [
      this.name,
      model.dim,
      modelBytes(model),
    ])
    if (r.rowCount !== 1) throw new VqInputError('ID_EXISTS', `index "${this.name}" already exists in this database`)
  }

  /** The trained model (NOT_FOUND when the index does not exist). */
  async model(): Promise<TrainedModel> {
    const r = await this.pool.query<{ model: Buffer }>('SELECT model FROM vq_indexes WHERE name = $1', [this.name])
    if (r.rows.length === 0) throw new VqStateError('NOT_TRAINED', `no index "${this.name}" in this database`)
    return modelOf(r.rows[0]!.model)
  }

  /**
   * Adds (or with upsert, adds or replaces) n items in one transaction; returns the seq of
   * the write. ID_EXISTS (nothing written) when add meets an id that is there.
   */
  async write(
    ids: readonly number[],
    x: Float32Array,
    dim: number,
    metadata: readonly unknown[] | undefined,
    upsert: boolean,
  ): Promise<number> {
    const n = ids.length
    checkBatch(ids, x, dim, metadata)
    const vectors = ids.map((_, i) => vectorBytes(x.subarray(i * dim, (i + 1) * dim)))
    const meta = ids.map((_, i) => (metadata?.[i] === undefined || metadata[i] === null ? null : JSON.stringify(metadata[i])))
    return this.#transaction(async (c, seq) => {
      const r = await c.query(
        `INSERT INTO vq_items (index_name, id, vector, metadata, seq, deleted)
         SELECT $1, u.id, u.vector, u.metadata::jsonb, $5, false FROM unnest($2::bigint[], $3::bytea[], $4::text[]) AS u(id, vector, metadata)
         ON CONFLICT (index_name, id) DO UPDATE SET vector = excluded.vector, metadata = excluded.metadata, seq = excluded.seq, deleted = false
         ${upsert ? '' : 'WHERE vq_items.deleted'}`,
        [this.name, ids, vectors, meta, seq],
      )
      if (r.rowCount !== n)
        throw new VqInputError(
          'ID_EXISTS',
          `${n - (r.rowCount ?? 0)} of the ${n} ids are already in "${this.name}"; use upsert; nothing was written`,
        )
    })
  }

  /** Marks ids deleted in one transaction; returns the seq of the write and how many existed. */
  async delete(ids: readonly number[]): Promise<{ seq: number; deleted: number }> {
    let deleted = 0
    const seq = await this.#transaction(async (c, s) => {
      const r = await c.query(
        'UPDATE vq_items SET deleted = true, vector = NULL, metadata = NULL, seq = $3 WHERE index_name = $1 AND id = ANY($2::bigint[]) AND NOT deleted',
        [this.name, ids, s],
      )
      deleted = r.rowCount ?? 0
    })
    return { seq, deleted }
  }

  /** Items changed after the cursor (seq, id), in (seq, id) order, at most `limit`. */
  async changes(since: number, sinceId: number, limit: number): Promise<ChangeRow[]> {
    const r = await this.pool.query<{ id: string; seq: string; deleted: boolean; vector: Buffer | null; metadata: unknown }>(
      'SELECT id, seq, deleted, vector, metadata FROM vq_items WHERE index_name = $1 AND (seq, id) > ($2, $3) ORDER BY seq, id LIMIT $4',
      [this.name, since, sinceId, limit],
    )
    return r.rows.map((row) => ({
      id: Number(row.id),
      seq: Number(row.seq),
      deleted: row.deleted,
      vector: row.vector ? vectorOf(row.vector) : null,
      metadata: row.metadata ?? null,
    }))
  }

  /** Items not deleted, and the last seq. */
  async stats(): Promise<{ count: number; lastSeq: number }> {
    const r = await this.pool.query<{ count: string; last: string | null }>(
      'SELECT count(*) FILTER (WHERE NOT deleted) AS count, max(seq) AS last FROM vq_items WHERE index_name = $1',
      [this.name],
    )
    return { count: Number(r.rows[0]!.count), lastSeq: Number(r.rows[0]!.last ?? 0) }
  }

  /** One write: the advisory lock of the index, the next seq, the change, the NOTIFY, the commit. */
  async #transaction(body: (c: pg.PoolClient, seq: number) => Promise<void>): Promise<number> {
    const c = await this.pool.connect()
    try {
      await c.query('BEGIN')
      await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [this.name])
      const seq = Number((await c.query<{ s: string }>("SELECT nextval('vq_seq') AS s")).rows[0]!.s)
      await body(c, seq)
      await c.query('SELECT pg_notify($1, $2)', [CHANNEL, this.name])
      await c.query('COMMIT')
      return seq
    } catch (e) {
      await c.query('ROLLBACK').catch(() => undefined)
      throw e
    } finally {
      c.release()
    }
  }
}

function checkBatch(ids: readonly number[], x: Float32Array, dim: number, metadata: readonly unknown[] | undefined): void {
  if (!Array.isArray(ids) || ids.length === 0) throw new VqInputError('BAD_IDS', 'ids must be a non-empty array')
  if (!(x instanceof Float32Array) || x.length !== ids.length * dim) {
    throw new VqInputError('DIMENSION_MISMATCH', `${ids.length} ids need ${ids.length * dim} numbers (dimension ${dim}), got ${x?.length}`)
  }
  if (metadata !== undefined && metadata.length !== ids.length)
    throw new VqInputError('BAD_METADATA', `${metadata.length} metadata for ${ids.length} ids`)
  const seen = new Set<number>()
  ids.forEach((id, i) => {
    if (!Number.isSafeInteger(id) || id < 0 || id > MAX_ID)
      throw new VqInputError('BAD_IDS', `id at position ${i} is ${id}; ids are integers from 0 to ${MAX_ID}`)
    if (seen.has(id)) throw new VqInputError('DUPLICATE_ID', `id ${id} appears twice in the batch`)
    seen.add(id)
  })
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i]!)) throw new VqInputError('NON_FINITE_VALUE', `vector ${Math.floor(i / dim)} component ${i % dim} is ${x[i]}`)
  }
}

/** Rows read per step of a refresh. */
const REFRESH_ROWS = 5000

/**
 * A search process's replica of an index: a local vqlite file (disposable: made anew from the
 * model on open) kept up to date from PostgreSQL by refresh().
 */
export class PgReplica {
  readonly store: PgVectorStore
  readonly index: VqIndex
  #lastSeq = 0
  #lastId = -1
  #refreshing: Promise<number> | undefined
  #again = false

  private constructor(store: PgVectorStore, index: VqIndex) {
    this.store = store
    this.index = index
  }

  /** Makes the local replica at localPath (which must not exist) and catches it up. */
  static async open(store: PgVectorStore, localPath: string, options: { threads?: number } = {}): Promise<PgReplica> {
    const index = await VqIndex.createFromModel<unknown, number>(localPath, await store.model(), {
      threads: options.threads ?? 0,
      durability: 'normal',
    })
    const r = new PgReplica(store, index)
    await r.refresh()
    return r
  }

  /** The seq of the last write applied. */
  get lastSeq(): number {
    return this.#lastSeq
  }

  /**
   * Applies every write committed after lastSeq; resolves with the rows applied. Calls made
   * while one runs share it and run once more after it (so a NOTIFY is never missed).
   */
  refresh(): Promise<number> {
    if (this.#refreshing) {
      this.#again = true
      return this.#refreshing
    }
    const run = async (): Promise<number> => {
      let applied = 0
      do {
        this.#again = false
        for (;;) {
          // Pages by the cursor (seq, id): a write larger than a page is applied over several.
          const rows = await this.store.changes(this.#lastSeq, this.#lastId, REFRESH_ROWS)
          if (rows.length === 0) break
          await this.#apply(rows)
          applied += rows.length
          const last = rows[rows.length - 1]!
          this.#lastSeq = last.seq
          this.#lastId = last.id
          if (rows.length < REFRESH_ROWS) break
        }
      } while (this.#again)
      return applied
    }
    this.#refreshing = run().finally(() => {
      this.#refreshing = undefined
    })
    return this.#refreshing
  }

  async #apply(rows: readonly ChangeRow[]): Promise<void> {
    const dim = this.index.dim
    const gone = rows.filter((r) => r.deleted).map((r) => r.id)
    const live = rows.filter((r) => !r.deleted)
    if (gone.length > 0) await this.index.delete(gone)
    if (live.length > 0) {
      const x = new Float32Array(live.length * dim)
      live.forEach((r, i) => {
        x.set(r.vector!, i * dim)
      })
      await this.index.upsert(
        live.map((r) => r.id),
        x,
        live.map((r) => r.metadata as never),
      )
    }
  }

  search(q: Float32Array, k: number, options?: SearchOptions) {
    return this.index.search(q, k, options)
  }

  async close(): Promise<void> {
    await this.index.close()
  }
}
