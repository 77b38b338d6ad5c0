import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { messageTypeNames, validateEnvelope } from '../../../shared/protocol/index.js'

const doc = readFileSync(new URL('../../../docs/protocol.md', import.meta.url), 'utf8')

/** The ```json blocks under each `### \`type\`` heading of docs/protocol.md. */
function examplesByHeading(): Map<string, unknown[]> {
  const sections = new Map<string, unknown[]>()
  for (const section of doc.split(/^### /m).slice(1)) {
    const heading = /^`([^`]+)`/.exec(section)?.[1]
    if (!heading) continue
    const blocks = [...section.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => JSON.parse(m[1] as string))
    sections.set(heading, blocks)
  }
  return sections
}

describe('docs/protocol.md', () => {
  it('has a section with at least one example for every message type', () => {
    const sections = examplesByHeading()
    for (const type of messageTypeNames) {
      expect(sections.get(type)?.length ?? 0, `examples for ${type}`).toBeGreaterThan(0)
    }
  })

  it('shows only examples the decoder accepts, each under its own type', () => {
    for (const [heading, examples] of examplesByHeading()) {
      for (const example of examples) {
        expect(validateEnvelope(example).type).toBe(heading)
      }
    }
  })
})
