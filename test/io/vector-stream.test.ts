/**
 * Block reads of vector files (src/io/vector-stream.ts) against a whole-file reference:
 * every block split and sample order gives the rows the file holds; damaged and foreign
 * files are typed errors.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { readVectorBlocks, readVectorRows, VqError, vectorFileInfo } from '../../src/index.js'
import { Rng } from '../../src/util/random.js'

const dir = mkdtempSync(join(tmpdir(), 'vqlite-vstream-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const n = 1037
const d = 7
const rng = new Rng(5)
const ref = new Float32Array(n * d).map(() => rng.normal())
const bytes = new Uint8Array(n * d).map(() => rng.int(256))

function vecs(path: string, x: Float32Array | Uint8Array, eb: 1 | 4): void {
  const rec = 4 + d * eb
  const b = Buffer.alloc(n * rec)
  for (let i = 0; i < n; i++) {
    b.writeInt32LE(d, i * rec)
    for (let t = 0; t < d; t++) {
      if (eb === 4) b.writeFloatLE(x[i * d + t]!, i * rec + 4 + 4 * t)
      else b[i * rec + 4 + t] = x[i * d + t]!
    }
  }
  writeFileSync(path, b)
}

function npy(path: string, x: Float64Array): void {
  let header = `{'descr': '<f8', 'fortran_order': False, 'shape': (${n}, ${d}), }`
  while ((10 + header.length + 1) % 64 !== 0) header += ' '
  header += '\n'
  const h = Buffer.alloc(10)
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]).copy(h)
  h.writeUInt16LE(header.length, 8)
  writeFileSync(path, Buffer.concat([h, Buffer.from(header, 'latin1'), Buffer.from(x.buffer)]))
}

const fv = join(dir, 'a.fvecs')
const bv = join(dir, 'a.bvecs')
const np = join(dir, 'a.npy')
vecs(fv, ref, 4)
vecs(bv, bytes, 1)
npy(np, Float64Array.from(ref))
const cases: [string, Float32Array][] = [
  [fv, ref],
  [bv, Float32Array.from(bytes)],
  [np, ref],
]

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p
  } catch (e) {
    expect(e).toBeInstanceOf(VqError)
    return (e as VqError).code
  }
  return 'no error'
}

describe('vector files read in blocks', () => {
  it.each(cases)('%s: info, blocks of every size and ranges give the file rows', async (path, want) => {
    expect(await vectorFileInfo(path)).toMatchObject({ n, d })
    for (const blockRows of [1, 64, 1000, 5000]) {
      const got = new Float32Array(n * d)
      let next = 0
      for await (const b of readVectorBlocks(path, { blockRows })) {
        expect(b.start).toBe(next)
        got.set(b.x, b.start * d)
        next += b.n
      }
      expect(next).toBe(n)
      expect(got).toEqual(want)
    }
    const part: number[] = []
    for await (const b of readVectorBlocks(path, { start: 100, end: 250, blockRows: 64 })) part.push(b.start, b.n)
    expect(part).toEqual([100, 64, 164, 64, 228, 22])
  })

  it.each(cases)('%s: rows in any order, near or far apart', async (path, want) => {
    const r = new Rng(9)
    const rows = [...r.sample(n, 300), 0, n - 1, 5]
    const got = await readVectorRows(path, rows)
    rows.forEach((row, i) => {
      expect(got.subarray(i * d, (i + 1) * d)).toEqual(want.subarray(row * d, (row + 1) * d))
    })
  })

  it('damaged, foreign and missing files are typed errors', async () => {
    const cut = join(dir, 'cut.fvecs')
    vecs(cut, ref, 4)
    truncateSync(cut, (4 + 4 * d) * 10 + 3)
    expect(await code(vectorFileInfo(cut))).toBe('TRUNCATED_FILE')
    const odd = join(dir, 'odd.fvecs')
    vecs(odd, ref, 4)
    const b = readFileSync(odd)
    b.writeInt32LE(d + 1, (4 + 4 * d) * 500)
    writeFileSync(odd, b)
    const all = async (): Promise<void> => {
      for await (const _ of readVectorBlocks(odd, { blockRows: 100 })) void _
    }
    expect(await code(all())).toBe('BAD_FILE')
    expect(await code(readVectorRows(odd, [500]))).toBe('BAD_FILE')
    expect(await code(readVectorRows(fv, [n]))).toBe('BAD_FILE')
    expect(await code(vectorFileInfo(join(dir, 'nope.fvecs')))).toBe('NOT_FOUND')
    mkdirSync(join(dir, 'folder.fvecs'))
    expect(await code(vectorFileInfo(join(dir, 'folder.fvecs')))).toBe('CANNOT_OPEN')
    writeFileSync(join(dir, 'x.txt'), 'hello')
    expect(await code(vectorFileInfo(join(dir, 'x.txt')))).toBe('BAD_FILE')
    writeFileSync(join(dir, 'fake.npy'), 'not numpy at all')
    expect(await code(vectorFileInfo(join(dir, 'fake.npy')))).toBe('BAD_FILE')
    writeFileSync(join(dir, 'huge.fvecs'), Buffer.from([0xff, 0xff, 0xff, 0x7f]))
    expect(await code(vectorFileInfo(join(dir, 'huge.fvecs')))).toBe('BAD_FILE')
    const shortNpy = join(dir, 'short.npy')
    npy(shortNpy, Float64Array.from(ref))
    truncateSync(shortNpy, 200)
    expect(await code(vectorFileInfo(shortNpy))).toBe('TRUNCATED_FILE')
  })
})
