/** The benchmark scripts `npm run bench` runs, in order (each is dist/bench/<name>.js). */
export const benchmarks = [
  'collector-ingest',
  'front-door',
  'reconnect-storm',
  'connection-memory',
  'agent-latency',
  'agent-memory',
  'media-clip',
  'media-chunking',
  'media-priority',
  'alerts-latency',
  'timeline-page',
  'fleet',
  'clip-bodies',
  'live-view',
] as const
