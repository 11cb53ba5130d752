/**
 * Targeted damage to every table of a real index: one value rewritten with better-sqlite3
 * (the manifest's msgpack, its counts, an array's shape / data / dtype, a code, a list
 * number, a seq, a vector blob, a metadata text, the FTS5 table, whole tables and columns,
 * the header's user_version and application_id). Each damaged copy is opened writable and
 * read-only: refused with a typed file error and left byte-for-byte untouched, or opened
 * with no raw error, only valid ids and every readable item identical (support/corpus.ts).
 * One test per row, so a report names exactly which damage is mishandled.
 */
import { copyFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { packValue, unpackValue } from '../../src/storage/msgpack.js'
import { buildOriginal, type Original, probe, scratchDir, Tally } from './support/corpus.js'

const SEED = 0xda4a6e
const dir = scratchDir('vqlite-files-damage-')
afterAll(() => rmSync(dir, { recursive: true, force: true }))

let original: Original
beforeAll(async () => {
  original = await buildOriginal(join(dir, 'original.vqlite'), SEED)
})

type Db = Database.Database
/** The item whose rows the single-row damages hit (the 11th by seq), and its seq. */
const victim = (db: Db): { id: number; seq: number } =>
  db.prepare('SELECT id, seq FROM vq_codes ORDER BY seq LIMIT 1 OFFSET 10').get() as { id: number; seq: number }

function setManifest(db: Db, change: (m: Record<string, unknown>) => void): void {
  const m = unpackValue(db.prepare("SELECT value FROM vq_manifest WHERE key = 'manifest'").pluck().get() as Buffer) as Record<
    string,
    unknown
  >
  change(m)
  db.prepare("UPDATE vq_manifest SET value = ? WHERE key = 'manifest'").run(packValue(m))
}
const manifestField =
  (field: string, value: unknown) =>
  (db: Db): void =>
    setManifest(db, (m) => {
      m[field] = value
    })
const setArray =
  (column: 'dtype' | 'shape' | 'data', value: (old: Buffer | string) => unknown, name = 'codec.centroids') =>
  (db: Db): void => {
    const old = db.prepare(`SELECT ${column} FROM vq_arrays WHERE name = ?`).pluck().get(name) as Buffer | string
    db.prepare(`UPDATE vq_arrays SET ${column} = ? WHERE name = ?`).run(value(old), name)
  }
const setCode = (value: (old: Buffer) => unknown) => (db: Db) => {
  const v = victim(db)
  const old = db.prepare('SELECT code FROM vq_codes WHERE seq = ?').pluck().get(v.seq) as Buffer
  db.prepare('UPDATE vq_codes SET code = ? WHERE seq = ?').run(value(old), v.seq)
}
const setCodeColumn = (column: 'list' | 'seq' | 'id', value: unknown) => (db: Db) => {
  db.prepare(`UPDATE vq_codes SET ${column} = ? WHERE seq = ?`).run(value, victim(db).seq)
}
const setVector = (value: (old: Buffer) => unknown) => (db: Db) => {
  const v = victim(db)
  const old = db.prepare('SELECT vector FROM vq_vectors WHERE id = ?').pluck().get(v.id) as Buffer
  db.prepare('UPDATE vq_vectors SET vector = ? WHERE id = ?').run(value(old), v.id)
}
const setMetadata = (json: unknown) => (db: Db) => {
  db.prepare('UPDATE vq_metadata SET json = ? WHERE id = ?').run(json, victim(db).id)
}
const exec = (sql: string) => (db: Db) => db.exec(sql)
const pragma = (p: string) => (db: Db) => db.pragma(p)

const GARBAGE = Buffer.from([0xc1, 0xff, 0x00, 0x13, 0x37, 0xde, 0xad, 0xbe, 0xef])
const deep = (n: number): string => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`

/** label, damage, and (when the outcome is certain) the refusal codes expected. */
const DAMAGE: [string, (db: Db) => void, string[]?][] = [
  // vq_manifest
  ['manifest: msgpack garbage', (db) => db.prepare("UPDATE vq_manifest SET value = ? WHERE key = 'manifest'").run(GARBAGE)],
  ['manifest: empty blob', (db) => db.prepare("UPDATE vq_manifest SET value = x'' WHERE key = 'manifest'").run()],
  [
    'manifest: a msgpack string, not a map',
    (db) => db.prepare("UPDATE vq_manifest SET value = ? WHERE key = 'manifest'").run(packValue('hello')),
  ],
  ['manifest: text instead of a blob', (db) => db.prepare("UPDATE vq_manifest SET value = 'not msgpack' WHERE key = 'manifest'").run()],
  ['manifest: row deleted', exec("DELETE FROM vq_manifest WHERE key = 'manifest'")],
  ['manifest: count 2^31', manifestField('count', 2 ** 31)],
  ['manifest: count 2^40', manifestField('count', 2 ** 40)],
  ['manifest: count -1', manifestField('count', -1)],
  ['manifest: count 1.5', manifestField('count', 1.5)],
  ['manifest: count a string', manifestField('count', 'many')],
  ['manifest: nextSeq 2^40', manifestField('nextSeq', 2 ** 40)],
  ['manifest: nextSeq negative', manifestField('nextSeq', -5)],
  ['manifest: dim 0', manifestField('dim', 0)],
  ['manifest: dim 2^31', manifestField('dim', 2 ** 31)],
  ['manifest: dim -8', manifestField('dim', -8)],
  ['manifest: dim a string', manifestField('dim', 'eight')],
  ['manifest: metric unknown', manifestField('metric', 'manhattan')],
  ['manifest: description garbage', manifestField('description', 'IVF-1,,PQ')],
  ['manifest: spec missing', manifestField('spec', undefined)],
  ['manifest: spec codec m 2^40', (db) => setManifest(db, (m) => ((m.spec as { codec: { m: number } }).codec.m = 2 ** 40))],
  ['manifest: storeVectors unknown', manifestField('storeVectors', 'float64')],
  ['manifest: generation NaN', manifestField('generation', Number.NaN)],
  ['manifest: format 2^40', manifestField('format', 2 ** 40)],
  ['text_field: msgpack garbage', (db) => db.prepare("UPDATE vq_manifest SET value = ? WHERE key = 'text_field'").run(GARBAGE)],
  ['text_field: a number', (db) => db.prepare("UPDATE vq_manifest SET value = ? WHERE key = 'text_field'").run(packValue(42))],
  [
    'text_field: a name createTextIndex refuses',
    (db) => db.prepare("UPDATE vq_manifest SET value = ? WHERE key = 'text_field'").run(packValue("x'); DROP TABLE vq_codes; --")),
  ],
  ['prop:embedder: msgpack garbage', (db) => db.prepare("UPDATE vq_manifest SET value = ? WHERE key = 'prop:embedder'").run(GARBAGE)],
  // vq_arrays
  ['arrays: shape not JSON', setArray('shape', () => 'not json')],
  ['arrays: shape cut JSON', setArray('shape', () => '[4,16')],
  ['arrays: shape a JSON object', setArray('shape', () => '{"a":1}')],
  ['arrays: shape disagrees with the data', setArray('shape', () => '[4,16,3]')],
  ['arrays: shape of 2^31 rows', setArray('shape', () => '[2147483648,16,2]')],
  ['arrays: shape negative', setArray('shape', () => '[-4,16,2]')],
  ['arrays: shape fractional', setArray('shape', () => '[4,16,2.5]')],
  ['arrays: data shortened by 4 bytes', setArray('data', (old) => (old as Buffer).subarray(0, (old as Buffer).length - 4))],
  ['arrays: data odd length', setArray('data', (old) => (old as Buffer).subarray(0, (old as Buffer).length - 1))],
  ['arrays: data empty', setArray('data', () => Buffer.alloc(0))],
  ['arrays: data text', setArray('data', () => 'centroids')],
  ['arrays: data NaN floats', setArray('data', (old) => Buffer.alloc((old as Buffer).length, 0xff))],
  ['arrays: dtype unknown', setArray('dtype', () => 'complex128')],
  ['arrays: ivf centroids shape disagrees', setArray('shape', () => '[5,8]', 'ivf.centroids')],
  ['arrays: codec centroids row deleted', exec("DELETE FROM vq_arrays WHERE name = 'codec.centroids'")],
  ['arrays: an unknown array added', exec("INSERT INTO vq_arrays VALUES ('bogus', 'float32', '[1]', x'00000000')")],
  // vq_codes
  ['codes: one code a byte short', setCode((old) => old.subarray(0, old.length - 1))],
  ['codes: one code a byte long', setCode((old) => Buffer.concat([old, Buffer.from([7])]))],
  ['codes: one code empty', setCode(() => Buffer.alloc(0))],
  ['codes: one code text', setCode(() => 'ab')],
  ['codes: list out of range (99)', setCodeColumn('list', 99)],
  ['codes: list negative', setCodeColumn('list', -1)],
  ['codes: list 2^40', setCodeColumn('list', 2 ** 40)],
  ['codes: seq negative', setCodeColumn('seq', -7)],
  ['codes: seq past nextSeq', setCodeColumn('seq', 10 ** 12)],
  [
    'codes: seq duplicated (a second row under a tombstoned seq)',
    (db) => {
      const t = db.prepare('SELECT seq FROM vq_tombstones LIMIT 1').pluck().get() as number
      db.prepare('UPDATE vq_codes SET seq = ? WHERE seq = ?').run(t, victim(db).seq)
    },
  ],
  ['codes: id negative', setCodeColumn('id', -3)],
  ['codes: id past 2^53', setCodeColumn('id', 2n ** 60n)],
  ['codes: id a string', setCodeColumn('id', 'seven')],
  ['codes: one row deleted', (db) => db.prepare('DELETE FROM vq_codes WHERE seq = ?').run(victim(db).seq)],
  // vq_vectors
  ['vectors: one blob short', setVector((old) => old.subarray(0, old.length - 4))],
  ['vectors: one blob long', setVector((old) => Buffer.concat([old, Buffer.alloc(4)]))],
  ['vectors: one blob odd length', setVector((old) => old.subarray(0, old.length - 1))],
  ['vectors: one blob empty', setVector(() => Buffer.alloc(0))],
  ['vectors: one blob text', setVector(() => 'vector')],
  ['vectors: one blob NaN', setVector((old) => Buffer.alloc(old.length, 0xff))],
  ['vectors: one row deleted', (db) => db.prepare('DELETE FROM vq_vectors WHERE id = ?').run(victim(db).id)],
  // vq_metadata
  ['metadata: malformed JSON', setMetadata('{"i": 1, "group":')],
  ['metadata: not JSON at all', setMetadata('hello')],
  ['metadata: a blob', setMetadata(GARBAGE)],
  ['metadata: JSON nested 2,000 deep', setMetadata(deep(2000))],
  ['metadata: JSON past MAX_METADATA_BYTES', setMetadata(JSON.stringify({ text: 'x'.repeat(5 << 20) }))],
  ['metadata: one row deleted', (db) => db.prepare('DELETE FROM vq_metadata WHERE id = ?').run(victim(db).id)],
  // vq_tombstones, vq_fts
  ['tombstones: id a string', exec("UPDATE vq_tombstones SET id = 'x'")],
  ['fts: vq_fts dropped', exec('DROP TABLE vq_fts')],
  // (better-sqlite3 protects FTS5 shadow tables unless unsafe mode is on: damage as a disk would.)
  ['fts: vq_fts_data emptied', (db) => db.unsafeMode(true).exec('DELETE FROM vq_fts_data')],
  ['fts: vq_fts_data blocks garbled', (db) => db.unsafeMode(true).exec("UPDATE vq_fts_data SET block = x'deadbeef' WHERE id > 1")],
  // tables and columns
  ['table dropped: vq_manifest', exec('DROP TABLE vq_manifest')],
  ['table dropped: vq_arrays', exec('DROP TABLE vq_arrays')],
  ['table dropped: vq_codes', exec('DROP TABLE vq_codes')],
  ['table dropped: vq_vectors', exec('DROP TABLE vq_vectors')],
  ['table dropped: vq_metadata', exec('DROP TABLE vq_metadata')],
  ['table dropped: vq_tombstones', exec('DROP TABLE vq_tombstones')],
  ['column dropped: vq_codes.list', exec('ALTER TABLE vq_codes DROP COLUMN list')],
  ['column dropped: vq_codes.code', exec('ALTER TABLE vq_codes DROP COLUMN code')],
  ['column dropped: vq_vectors.vector', exec('ALTER TABLE vq_vectors DROP COLUMN vector')],
  ['column dropped: vq_metadata.json', exec('ALTER TABLE vq_metadata DROP COLUMN json')],
  ['column dropped: vq_arrays.shape', exec('ALTER TABLE vq_arrays DROP COLUMN shape')],
  ['column renamed: vq_codes.code', exec('ALTER TABLE vq_codes RENAME COLUMN code TO code2')],
  // the header
  ['user_version 0', pragma('user_version = 0')],
  ['user_version -1', pragma('user_version = -1')],
  ['user_version 999', pragma('user_version = 999'), ['NEWER_FORMAT']],
  ['application_id changed', pragma('application_id = 305419896'), ['FOREIGN_FILE']],
  ['application_id 0', pragma('application_id = 0'), ['FOREIGN_FILE']],
  ['left in WAL mode (journal_mode persisted as WAL, no -wal)', pragma('journal_mode = WAL')],
]

/**
 * Damage that cannot be told from valid data, with the one answer it may change: an item
 * stored without metadata has no vq_metadata row, so a deleted row reads as null metadata.
 */
const UNDETECTABLE: Record<string, RegExp> = {
  'metadata: one row deleted': /^get\(\d+\) returned different metadata null$/,
}

describe(`targeted damage to every table (seed ${SEED})`, () => {
  const tally = new Tally()
  afterAll(() => {
    process.stdout.write(tally.summary(`targeted table damage, seed ${SEED}`))
  })
  for (const [label, damage, codes] of DAMAGE) {
    it(label, async () => {
      const results: string[] = []
      for (const readonly of [false, true]) {
        const path = join(dir, `${label.replace(/[^a-z0-9]+/gi, '-')}-${readonly ? 'ro' : 'rw'}.vqlite`)
        copyFileSync(original.path, path)
        const db = new Database(path)
        damage(db)
        db.close()
        const r = await probe(path, original, readonly, codes ? new Set(codes) : undefined)
        tally.add(`${label} ${readonly ? 'read-only' : 'writable'}`, r)
        results.push(
          ...r.problems.map((p) => `${readonly ? 'read-only' : 'writable'}: ${p}`),
          ...r.silent.filter((s) => !UNDETECTABLE[label]?.test(s)).map((s) => `${readonly ? 'read-only' : 'writable'} (silent): ${s}`),
        )
      }
      expect(results.slice(0, 20)).toEqual([])
    })
  }
})
