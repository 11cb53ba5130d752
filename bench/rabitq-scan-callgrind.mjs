// Instruction counts of variants of the RaBitQ 1-bit scan loop (a standalone replica, 20,000 codes, d = 100):
//   for v in C D E G; do for r in 5 65; do valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.$v.$r node bench/rabitq-scan-callgrind.mjs $v $r; done; done
// Instructions per code = (Ir(65) - Ir(5)) / (60 * 20000). C: one lookup per step (before); E: four per step (now, src/quantizers/rabitq.ts).
const variant = process.argv[2]
const reps = Number(process.argv[3])
const n = 20000,
  B = 13,
  cs = 21
let seed = 1
const rnd = () => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff
  return seed / 0x7fffffff
}
const t64 = new Float64Array(B * 256).map(() => rnd())
const t32 = Float32Array.from(t64)
const codes = new Uint8Array(n * cs).map(() => (rnd() * 256) | 0)
{
  const dv = new DataView(codes.buffer)
  for (let i = 0; i < n; i++) {
    dv.setFloat32(i * cs + B, rnd(), true)
    dv.setFloat32(i * cs + B + 4, rnd(), true)
  }
}
const out = new Float32Array(n)
const sums = new Float64Array(n)
function C(t1) {
  const dv = new DataView(codes.buffer, codes.byteOffset, codes.byteLength)
  for (let i = 0; i < n; i++) {
    const base = i * cs
    let s = 0
    for (let j = 0; j < B; j++) s += t1[(j << 8) | codes[base + j]]
    const a = dv.getFloat32(base + B, true)
    const dpm = dv.getFloat32(base + B + 4, true)
    const pre = a + 0.7 - 2 * dpm * (s - 0.3)
    out[i] = pre > 0 ? pre : 0
  }
}
function G(t1) {
  for (let i = 0; i < n; i++) {
    const base = i * cs
    let s = 0
    for (let j = 0; j < B; j++) s += t1[(j << 8) | codes[base + j]]
    sums[i] = s
  }
  const dv = new DataView(codes.buffer, codes.byteOffset, codes.byteLength)
  for (let i = 0; i < n; i++) {
    const base = i * cs
    const pre = dv.getFloat32(base + B, true) + 0.7 - 2 * dv.getFloat32(base + B + 4, true) * (sums[i] - 0.3)
    out[i] = pre > 0 ? pre : 0
  }
}
function D(t1) {
  const dv = new DataView(codes.buffer, codes.byteOffset, codes.byteLength)
  const B4 = B & ~3
  for (let i = 0; i < n; i++) {
    const base = i * cs
    let s = 0
    let j = 0
    for (; j < B4; j += 4) {
      const w = dv.getUint32(base + j, true)
      s +=
        t1[(j << 8) | (w & 255)] +
        t1[((j + 1) << 8) | ((w >>> 8) & 255)] +
        t1[((j + 2) << 8) | ((w >>> 16) & 255)] +
        t1[((j + 3) << 8) | (w >>> 24)]
    }
    for (; j < B; j++) s += t1[(j << 8) | codes[base + j]]
    const pre = dv.getFloat32(base + B, true) + 0.7 - 2 * dv.getFloat32(base + B + 4, true) * (s - 0.3)
    out[i] = pre > 0 ? pre : 0
  }
}
function E(t1) {
  const dv = new DataView(codes.buffer, codes.byteOffset, codes.byteLength)
  const B4 = B & ~3
  for (let i = 0; i < n; i++) {
    const base = i * cs
    let s = 0
    let j = 0
    for (; j < B4; j += 4) {
      const o = base + j
      s +=
        t1[(j << 8) | codes[o]] + t1[((j + 1) << 8) | codes[o + 1]] + t1[((j + 2) << 8) | codes[o + 2]] + t1[((j + 3) << 8) | codes[o + 3]]
    }
    for (; j < B; j++) s += t1[(j << 8) | codes[base + j]]
    const pre = dv.getFloat32(base + B, true) + 0.7 - 2 * dv.getFloat32(base + B + 4, true) * (s - 0.3)
    out[i] = pre > 0 ? pre : 0
  }
}
const f = { D: () => D(t64), E: () => E(t64), C: () => C(t64), H: () => C(t32), G: () => G(t64) }[variant]
for (let r = 0; r < reps; r++) f()
