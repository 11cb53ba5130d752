/** vqlite export-faiss / import-faiss as the real binary: a round trip, and what is refused (exit 1, the code named, nothing written). */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { writeVecs } from '../../datasets/texmex.js'
import { clusteredVectors } from '../helpers/data.js'
import { runIn } from './cli-run.js'

const dir = mkdtempSync(join(tmpdir(), 'vqlite-cli-faiss-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const run = (...args: string[]) => runIn(dir, args)

describe('export-faiss / import-faiss', () => {
  it('round trip: the same count, description and search results', async () => {
    await writeVecs(join(dir, 'base.fvecs'), 'fvecs', clusteredVectors(400, 8, 6, 1, 0.3), 400, 8)
    await writeVecs(join(dir, 'q.fvecs'), 'fvecs', clusteredVectors(3, 8, 6, 2, 0.3), 3, 8)
    expect(run('create', 'a.vqlite', '--dim', '8', '--description', 'IVF4,PQ4').status).toBe(0)
    expect(run('add', 'a.vqlite', 'base.fvecs').status).toBe(0)
    const out = run('export-faiss', 'a.vqlite', 'a.faiss', '--json')
    expect(out.status, out.all).toBe(0)
    expect(JSON.parse(out.stdout)).toMatchObject({ count: 400, to: 'a.faiss' })
    expect(readFileSync(join(dir, 'a.faiss')).subarray(0, 4).toString('latin1')).toBe('IwPQ')
    const imp = run('import-faiss', 'a.faiss', 'b.vqlite')
    expect(imp.status, imp.all).toBe(0)
    expect(imp.stdout).toContain('imported 400 vectors from a.faiss into b.vqlite: IVF4,PQ4, d = 8, l2')
    const search = (f: string) => run('search', '--index', f, '--vectors', 'q.fvecs', '--k', '5', '--nprobe', '4', '--json').stdout
    expect(JSON.parse(search('b.vqlite'))).toEqual(JSON.parse(search('a.vqlite')))
  })

  it('refusals: an existing target, a foreign file, a composition FAISS cannot express', () => {
    writeFileSync(join(dir, 'keep.faiss'), 'keep')
    const exists = run('export-faiss', 'a.vqlite', 'keep.faiss')
    expect(exists.status).toBe(1)
    expect(exists.stderr).toContain('FILE_EXISTS')
    expect(readFileSync(join(dir, 'keep.faiss'), 'utf8')).toBe('keep')
    writeFileSync(join(dir, 'hnsw.faiss'), Buffer.concat([Buffer.from('IHNf', 'latin1'), Buffer.alloc(64)]))
    const foreign = run('import-faiss', 'hnsw.faiss', 'c.vqlite')
    expect(foreign.status).toBe(1)
    expect(foreign.stderr).toMatch(/IHNf[\s\S]*UNSUPPORTED_FAISS_INDEX/)
    expect(existsSync(join(dir, 'c.vqlite'))).toBe(false)
    expect(run('create', 'r.vqlite', '--dim', '8', '--description', 'RaBitQ').status).toBe(0)
    expect(run('add', 'r.vqlite', 'base.fvecs').status).toBe(0)
    const rabitq = run('export-faiss', 'r.vqlite', 'r.faiss')
    expect(rabitq.status).toBe(1)
    expect(rabitq.stderr).toMatch(/RaBitQ[\s\S]*UNSUPPORTED_FAISS_INDEX/)
    expect(existsSync(join(dir, 'r.faiss'))).toBe(false)
  })
})
