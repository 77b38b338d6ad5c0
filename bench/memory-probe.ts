import { writeFileSync } from 'node:fs'

/**
 * Preloaded into a node broker by the memory benchmark (`node --expose-gc --import memory-probe.js`):
 * on SIGUSR2 it runs full collections and writes process.memoryUsage() to BENCH_MEMORY_PROBE_FILE, so
 * the benchmark reads what the broker holds rather than garbage V8 has not collected yet.
 */
const file = process.env.BENCH_MEMORY_PROBE_FILE
const gc = (globalThis as { gc?: () => void }).gc
if (file && gc) {
  process.on('SIGUSR2', () => {
    gc()
    gc()
    writeFileSync(file, JSON.stringify(process.memoryUsage()))
  })
}
