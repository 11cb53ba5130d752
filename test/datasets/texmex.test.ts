import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { VqFormatError } from 'vqlite'
import { bytesToFloat32, readBvecs, readFvecs, readIvecs, streamVecs, vecsInfo, writeVecs } from '../../datasets/texmex.js'
import { randomVectors } from '../helpers/data.js'

const dir = mkdtempSync(join(tmpdir(), 'vqlite-texmex-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** The format written by hand, independently of writeVecs: int32 d, then d components. */
function handWritten(rows: number[][], kind: 'f' | 'i' | 'b'): Buffer {
  const parts: Buffer[] = []
  for (const r of rows) {
    const head = Buffer.alloc(4)
    head.writeInt32LE(r.length)
    const body = Buffer.alloc(r.length * (kind === 'b' ? 1 : 4))
    r.forEach((v, t) => {
      if (kind === 'f') body.writeFloatLE(v, 4 * t)
      else if (kind === 'i') body.writeInt32LE(v, 4 * t)
      else body.writeUInt8(v, t)
    })
    parts.push(head, body)
  }
  return Buffer.concat(parts)
}

describe('TEXMEX readers', () => {
  it('read hand-written fvecs, ivecs and bvecs', async () => {
    writeFileSync(
      join(dir, 'a.fvecs'),
      handWritten(
        [
          [1.5, -2, 3],
          [4, 5, 6.25],
        ],
        'f',
      ),
    )
    writeFileSync(
      join(dir, 'a.ivecs'),
      handWritten(
        [
          [7, -8],
          [9, 10],
          [11, 12],
        ],
        'i',
      ),
    )
    writeFileSync(join(dir, 'a.bvecs'), handWritten([[0, 255, 128, 1]], 'b'))
    const f = await readFvecs(join(dir, 'a.fvecs'))
    expect([f.n, f.d, Array.from(f.data)]).toEqual([2, 3, [1.5, -2, 3, 4, 5, 6.25]])
    const i = await readIvecs(join(dir, 'a.ivecs'))
    expect([i.n, i.d, Array.from(i.data)]).toEqual([3, 2, [7, -8, 9, 10, 11, 12]])
    const b = await readBvecs(join(dir, 'a.bvecs'))
    expect([b.n, b.d, Array.from(b.data)]).toEqual([1, 4, [0, 255, 128, 1]])
    expect(Array.from(bytesToFloat32(b.data))).toEqual([0, 255, 128, 1])
    expect(await vecsInfo(join(dir, 'a.ivecs'))).toEqual({ format: 'ivecs', d: 2, n: 3 })
  })

  it('writeVecs output is byte-identical to the format and round-trips', async () => {
    const x = randomVectors(5, 3, 1)
    await writeVecs(join(dir, 'w.fvecs'), 'fvecs', x, 5, 3)
    const rows = Array.from({ length: 5 }, (_, r) => Array.from(x.subarray(r * 3, r * 3 + 3)))
    expect(readFileSync(join(dir, 'w.fvecs')).equals(handWritten(rows, 'f'))).toBe(true)
    expect((await readFvecs(join(dir, 'w.fvecs'))).data).toEqual(x)
  })

  it('reads ranges and streams in batches', async () => {
    const n = 1000,
      d = 7
    const x = randomVectors(n, d, 2)
    await writeVecs(join(dir, 'r.fvecs'), 'fvecs', x, n, d)
    const part = await readFvecs(join(dir, 'r.fvecs'), { start: 990, count: 50 })
    expect(part.n).toBe(10)
    expect(part.data).toEqual(x.subarray(990 * d))
    const starts: number[] = []
    const all = new Float32Array(n * d)
    for await (const b of streamVecs(join(dir, 'r.fvecs'), 'fvecs', { batchSize: 300 })) {
      starts.push(b.start)
      all.set(b.data, b.start * d)
    }
    expect(starts).toEqual([0, 300, 600, 900])
    expect(all).toEqual(x)
  })

  it('an empty file holds zero vectors', async () => {
    writeFileSync(join(dir, 'empty.fvecs'), Buffer.alloc(0))
    const e = await readFvecs(join(dir, 'empty.fvecs'))
    expect(e.n).toBe(0)
  })

  it('a truncated file is a TRUNCATED_FILE error naming the file', async () => {
    const good = handWritten(
      [
        [1, 2, 3],
        [4, 5, 6],
      ],
      'f',
    )
    writeFileSync(join(dir, 't.fvecs'), good.subarray(0, good.length - 3))
    const err = await readFvecs(join(dir, 't.fvecs')).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(VqFormatError)
    expect((err as VqFormatError).code).toBe('TRUNCATED_FILE')
    expect((err as Error).message).toMatch(/t\.fvecs: 29 bytes is not a whole number of 16-byte records/)
    writeFileSync(join(dir, 't2.ivecs'), Buffer.from([1, 0]))
    expect(await readIvecs(join(dir, 't2.ivecs')).catch((e: unknown) => (e as VqFormatError).code)).toBe('TRUNCATED_FILE')
  })

  it('inconsistent record dimensions and absurd headers are BAD_FILE errors', async () => {
    // Same total length as two 3-d records, but the second declares d = 2 followed by 4 floats.
    const buf = Buffer.concat([handWritten([[1, 2, 3]], 'f'), handWritten([[1, 2]], 'f'), Buffer.alloc(4)])
    writeFileSync(join(dir, 'mixed.fvecs'), buf)
    const err = await readFvecs(join(dir, 'mixed.fvecs')).catch((e: unknown) => e)
    expect((err as VqFormatError).code).toBe('BAD_FILE')
    expect((err as Error).message).toMatch(/vector 1 declares dimension 2, expected 3/)
    writeFileSync(join(dir, 'text.fvecs'), 'hello world, not vectors')
    expect(await readFvecs(join(dir, 'text.fvecs')).catch((e: unknown) => (e as VqFormatError).code)).toBe('BAD_FILE')
  })
})
