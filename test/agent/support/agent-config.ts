import {
  type AgentConfig,
  type AgentConfigInput,
  agentConfigSchema,
} from '../../../agent/config/agent-config.js'

/** A validated agent config for tests: fast intervals, everything else from the schema's defaults. */
export function testAgentConfig(
  overrides: Partial<AgentConfigInput> & { mqtt: AgentConfigInput['mqtt'] },
): AgentConfig {
  return agentConfigSchema.parse({
    deviceId: 'front-door',
    dataDir: '/nonexistent',
    medium: { batchIntervalMs: 50, batchMaxItems: 50 },
    health: { intervalMs: 60_000 },
    sensors: { temperature: { intervalMs: 60_000 }, light: { intervalMs: 60_000 } },
    outbox: { ackTimeoutMs: 5_000 },
    logLevel: 'silent',
    ...overrides,
    mqtt: { reconnectInitialMs: 50, reconnectMaxMs: 400, connectTimeoutMs: 2_000, ...overrides.mqtt },
  })
}
