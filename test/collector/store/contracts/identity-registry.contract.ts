import { afterAll, describe, expect, it } from 'vitest'
import type { ManagedIdentityRegistry } from '../../../../collector/registry/identity-registry.js'
import { DoorbellError, type ErrorCode } from '../../../../shared/errors.js'

/** Expects fn (sync or async) to fail with a DoorbellError of code. */
async function expectDoorbellError(fn: () => unknown, code: ErrorCode): Promise<void> {
  try {
    await fn()
  } catch (err) {
    expect(err).toBeInstanceOf(DoorbellError)
    expect((err as DoorbellError).code).toBe(code)
    return
  }
  throw new Error(`expected ${code}, nothing was thrown`)
}

/** How a suite gets registries of one implementation. */
export interface IdentityRegistryHarness {
  /** A new, empty registry. */
  create(): Promise<ManagedIdentityRegistry>
  /** A second handle over the data of the registry create() returned last (the admin CLI beside the collector). */
  other(): Promise<ManagedIdentityRegistry>
  /** Writes a device as a version before the fast hash did: its secret as an scrypt hash. */
  seedLegacyDevice(deviceId: string, secret: string): Promise<void>
  /** Releases what the harness holds, once the suite is done. */
  close?(): Promise<void>
}

/** The contract every device and user registry passes (the aedes-persistence abstract-suite pattern). */
export function identityRegistryContract(name: string, harness: IdentityRegistryHarness): void {
  describe(`IdentityRegistry contract: ${name}`, () => {
    afterAll(async () => harness.close?.())

    it('accepts a device secret it issued and refuses a wrong one, an unknown name and a disabled device', async () => {
      const registry = await harness.create()
      const secret = await registry.addDevice('porch', Date.UTC(2026, 0, 1))
      expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/)
      expect((await registry.authenticate('porch', secret))?.principal).toEqual({
        kind: 'device',
        deviceId: 'porch',
      })
      expect(await registry.authenticate('porch', `${secret}x`)).toBeUndefined()
      expect(await registry.authenticate('garage', secret)).toBeUndefined()
      await registry.setDeviceDisabled('porch', true)
      expect(await registry.authenticate('porch', secret)).toBeUndefined()
      expect(registry.isDeviceEnabled('porch')).toBe(false)
      await registry.setDeviceDisabled('porch', false)
      expect((await registry.authenticate('porch', secret))?.principal.kind).toBe('device')
    })

    it('keeps only a fast hash of each secret, never the secret', async () => {
      const registry = await harness.create()
      const secret = await registry.addDevice('porch')
      const [device] = registry.listDevices()
      expect(device?.secretHash.startsWith('sha256$')).toBe(true)
      expect(device?.secretHash).not.toContain(secret)
      expect(registry.isSlowToVerify('porch')).toBe(false)
    })

    it('stops the old secret at once on rotation and names the new credential differently', async () => {
      const registry = await harness.create()
      const first = await registry.addDevice('porch', 1000)
      const principal = { kind: 'device', deviceId: 'porch' } as const
      const before = registry.credentialOf(principal)
      expect((await registry.authenticate('porch', first))?.credential).toBe(before)
      const second = await registry.rotateDevice('porch', 1000)
      const third = await registry.rotateDevice('porch', 1000)
      expect(await registry.authenticate('porch', first)).toBeUndefined()
      expect(await registry.authenticate('porch', second)).toBeUndefined()
      const login = await registry.authenticate('porch', third)
      expect(login?.credential).toBe(registry.credentialOf(principal))
      expect(new Set([before, login?.credential]).size).toBe(2)
    })

    it('keeps devices and service users in one namespace and answers for each', async () => {
      const registry = await harness.create()
      await registry.addDevice('porch')
      const userSecret = await registry.addUser('homeassistant')
      await expectDoorbellError(() => registry.addUser('porch'), 'USER_EXISTS')
      await expectDoorbellError(() => registry.addDevice('homeassistant'), 'DEVICE_EXISTS')
      await expectDoorbellError(() => registry.addDevice('bad:name'), 'USAGE')
      expect((await registry.authenticate('homeassistant', userSecret))?.principal).toEqual({
        kind: 'service',
        name: 'homeassistant',
      })
      await registry.removeUser('homeassistant')
      expect(registry.isActive({ kind: 'service', name: 'homeassistant' })).toBe(false)
      expect(await registry.authenticate('homeassistant', userSecret)).toBeUndefined()
    })

    it('forgets a removed device and lists the enabled ones in order', async () => {
      const registry = await harness.create()
      for (const id of ['shed', 'porch', 'garage']) await registry.addDevice(id)
      await registry.setDeviceDisabled('shed', true)
      expect(registry.enabledDeviceIds()).toEqual(['garage', 'porch'])
      await registry.removeDevice('garage')
      expect(registry.credentialOf({ kind: 'device', deviceId: 'garage' })).toBeUndefined()
      expect(registry.listDevices().map((d) => d.deviceId)).toEqual(['porch', 'shed'])
      await expectDoorbellError(() => registry.removeDevice('garage'), 'DEVICE_NOT_FOUND')
    })

    it('sees what another handle changed, and loses none of two handles writing at once', async () => {
      const registry = await harness.create()
      const other = await harness.other()
      const revision = registry.revision
      const secret = await other.addDevice('porch')
      await registry.reloadIfChanged()
      expect(registry.revision).toBeGreaterThan(revision)
      expect((await registry.authenticate('porch', secret))?.principal.kind).toBe('device')
      await Promise.all(
        Array.from({ length: 20 }, (_, i) => (i % 2 ? registry : other).addDevice(`device-${i}`)),
      )
      await registry.reloadIfChanged()
      expect(registry.listDevices()).toHaveLength(21)
    })

    it('verifies a slow hash from an earlier version, then replaces it with the fast one', async () => {
      const registry = await harness.create()
      await harness.seedLegacyDevice('garage', 'legacy-secret-0123456789')
      await registry.reloadIfChanged()
      expect(registry.isSlowToVerify('garage')).toBe(true)
      expect(await registry.authenticate('garage', 'wrong')).toBeUndefined()
      expect(await registry.flushHashUpgrades()).toBe(0)
      expect((await registry.authenticate('garage', 'legacy-secret-0123456789'))?.principal.kind).toBe(
        'device',
      )
      expect(registry.isSlowToVerify('garage')).toBe(false)
      expect(await registry.flushHashUpgrades()).toBe(1)
      const other = await harness.other()
      expect(other.isSlowToVerify('garage')).toBe(false)
      expect((await other.authenticate('garage', 'legacy-secret-0123456789'))?.principal.kind).toBe('device')
    })

    it('does not undo a rotation made between a slow login and the write of its upgrade', async () => {
      const registry = await harness.create()
      await harness.seedLegacyDevice('garage', 'legacy-secret-0123456789')
      await registry.reloadIfChanged()
      expect(await registry.authenticate('garage', 'legacy-secret-0123456789')).toBeDefined()
      const rotated = await (await harness.other()).rotateDevice('garage')
      expect(await registry.flushHashUpgrades()).toBe(0)
      await registry.reloadIfChanged()
      expect(await registry.authenticate('garage', 'legacy-secret-0123456789')).toBeUndefined()
      expect(await registry.authenticate('garage', rotated)).toBeDefined()
    })
  })
}
