/**
 * Where a crash scenario kills: distinct even indexes (the start of a press + reading pair) after the
 * first pair, chosen at random; as many as kills, or every pair but the first when there are fewer.
 */
export function pickKillPoints(totalEvents: number, kills: number): Set<number> {
  const pairs = totalEvents / 2 - 1
  const killAt = new Set<number>()
  while (killAt.size < Math.min(kills, pairs)) killAt.add(2 * (1 + Math.floor(Math.random() * pairs)))
  return killAt
}
