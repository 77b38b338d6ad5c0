import { describe, expect, it } from 'vitest'
import { isGranted, mayActFor, type Permission } from '../../../collector/access/permissions.js'

const operator = { kind: 'operator' } as const
const owner = { kind: 'homeowner', name: 'alice', role: 'owner' } as const
const viewer = { kind: 'homeowner', name: 'bob', role: 'viewer' } as const

describe('HTTP permissions', () => {
  it('gives a viewer the household’s reads but not settings changes or the dead letters', () => {
    const reads: Permission[] = ['events:read', 'media:read', 'health:read', 'stats:read', 'settings:read']
    for (const permission of reads) expect(isGranted(viewer, permission), permission).toBe(true)
    expect(isGranted(viewer, 'settings:write')).toBe(false)
    expect(isGranted(viewer, 'dead-letters:read')).toBe(false)
    expect(isGranted(owner, 'settings:write')).toBe(true)
    expect(isGranted(owner, 'dead-letters:read')).toBe(true)
  })

  it('keeps the operator to media and the alerts API, out of the dashboard’s own routes', () => {
    for (const permission of ['media:read', 'health:read', 'dead-letters:read'] as const)
      expect(isGranted(operator, permission), permission).toBe(true)
    for (const permission of ['events:read', 'settings:read', 'settings:write', 'session:end'] as const)
      expect(isGranted(operator, permission), permission).toBe(false)
  })

  it('grants nothing without a principal', () => {
    expect(isGranted(undefined, 'media:read')).toBe(false)
    expect(mayActFor(undefined, 'alice')).toBe(false)
  })

  it('lets a homeowner act only for themselves and the operator for anyone', () => {
    expect(mayActFor(viewer, 'bob')).toBe(true)
    expect(mayActFor(viewer, 'alice')).toBe(false)
    expect(mayActFor(operator, 'alice')).toBe(true)
  })
})
