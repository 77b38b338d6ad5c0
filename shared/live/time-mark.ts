/**
 * The capture-time mark the simulated camera draws into every frame, for the glass-to-glass benchmark
 * (docs/live.md): the wall clock in ms, modulo 2^24 (about 4.7 h), as 24 black or white blocks in a row
 * at the bottom-left corner, most significant bit first, Gray-coded so that a block row drawn across a
 * millisecond boundary reads as one of the two neighbouring values, never garbage. The page reads the
 * centre pixel of each block after decoding and compares with its own clock (same machine, same clock).
 */

/** Bits in the mark. */
export const timeMarkBits = 24
/** The mark's values wrap at this (ms). */
export const timeMarkModulo = 2 ** timeMarkBits

/** Side of one block, in pixels: large enough to survive compression, small enough to fit the width. */
export function timeMarkBlockPx(widthPx: number): number {
  return Math.max(4, Math.min(16, 2 * Math.floor(widthPx / 96)))
}

/** The ffmpeg lavfi source drawing the mark: a gray strip whose blocks geq computes from time(0). */
export function timeMarkSource(widthPx: number, frameRate: number): string {
  const b = timeMarkBlockPx(widthPx)
  const ms = `mod(floor(time(0)*1000)\\,${timeMarkModulo})`
  // Gray code bit k (from the top): bit k of v XOR bit k+1 of v, i.e. their sum modulo 2.
  const bit = `mod(floor(${ms}/pow(2\\,${timeMarkBits - 1}-floor(X/${b})))+floor(${ms}/pow(2\\,${timeMarkBits}-floor(X/${b})))\\,2)`
  return `nullsrc=size=${timeMarkBits * b}x${b}:rate=${frameRate},format=gray,geq=lum='255*${bit}'`
}

/** Gray code of a mark value (what the blocks show). */
export function grayOf(value: number): number {
  return (value ^ (value >>> 1)) >>> 0
}

/** The mark value of the Gray code read from the blocks. */
export function valueOfGray(gray: number): number {
  let value = gray
  for (let shift = gray >>> 1; shift > 0; shift >>>= 1) value ^= shift
  return value >>> 0
}

/** Age of a mark read at nowMs: how long ago the frame was captured (ms), across the wrap. */
export function timeMarkAgeMs(markValue: number, nowMs: number): number {
  return ((((nowMs % timeMarkModulo) - markValue) % timeMarkModulo) + timeMarkModulo) % timeMarkModulo
}
