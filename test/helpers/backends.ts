/** The fast kernel backends that the parity tests run against the reference. */
import { getKernels, type Kernels, tsKernels, wasmAvailable } from '../../native-free-kernels/index.js'

export interface Backend {
  readonly name: string
  readonly kernels: Kernels
  /**
   * Relative tolerance against the float64 reference: the TypeScript kernels sum in float64
   * and round once (observed worst ~1.2e-7, one float32 ulp); the WebAssembly kernels sum
   * in float32 lanes (observed worst below 2e-6 on these inputs).
   */
  readonly tol: number
}

export const fastBackends: Backend[] = [
  { name: 'ts', kernels: tsKernels, tol: 1e-6 },
  ...(wasmAvailable() ? [{ name: 'wasm', kernels: getKernels('wasm'), tol: 1e-5 }] : []),
]
