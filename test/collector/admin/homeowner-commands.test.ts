import { afterEach, describe, expect, it } from 'vitest'
import { runHomeownerCommand } from '../../../collector/admin/homeowner-commands.js'
import { FileHomeownerStore } from '../../../collector/dashboard/file-homeowner-store.js'
import { Homeowners } from '../../../collector/dashboard/homeowners.js'
import { tempDir } from '../collector-harness.js'

describe('doorbell-admin homeowners', () => {
  const dirs: { cleanup: () => void }[] = []
  afterEach(() => {
    for (const d of dirs.splice(0)) d.cleanup()
  })
  const store = (): Homeowners => {
    const dir = tempDir('homeowners')
    dirs.push(dir)
    return new Homeowners(new FileHomeownerStore(dir.path))
  }

  it('adds, lists, changes the password and role of, and removes a homeowner', async () => {
    const s = store()
    expect(
      await runHomeownerCommand(s, 'add', 'alice', {
        role: 'owner',
        password: 'a long password',
        isJson: false,
      }),
    ).toBe('added alice (owner)\n')
    expect(await s.verify('alice', 'a long password')).toMatchObject({ name: 'alice', role: 'owner' })
    await runHomeownerCommand(s, 'passwd', 'alice', {
      role: 'viewer',
      password: 'another password',
      isJson: false,
    })
    expect(await s.verify('alice', 'a long password')).toBeUndefined()
    expect(await s.verify('alice', 'another password')).toMatchObject({ role: 'viewer' })
    const listed = JSON.parse(await runHomeownerCommand(s, 'list', undefined, { isJson: true }))
    expect(listed).toEqual([{ name: 'alice', role: 'viewer', createdAt: expect.any(String) }])
    expect(JSON.stringify(listed)).not.toContain('scrypt')
    expect(await runHomeownerCommand(s, 'remove', 'alice', { isJson: false })).toBe('removed alice\n')
    expect(await s.list()).toEqual([])
  })

  it('refuses a short password, a bad role, a bad name and a duplicate', async () => {
    const s = store()
    await expect(runHomeownerCommand(s, 'add', 'bob', { password: 'short', isJson: false })).rejects.toThrow(
      /password/,
    )
    await expect(
      runHomeownerCommand(s, 'add', 'bob', { role: 'admin', password: 'a long password', isJson: false }),
    ).rejects.toThrow(/owner or viewer/)
    await expect(
      runHomeownerCommand(s, 'add', 'Bob!', { password: 'a long password', isJson: false }),
    ).rejects.toThrow(/name/)
    await runHomeownerCommand(s, 'add', 'bob', { password: 'a long password', isJson: false })
    await expect(
      runHomeownerCommand(s, 'add', 'bob', { password: 'a long password', isJson: false }),
    ).rejects.toThrow(/exists/)
    expect((await s.list())[0]?.role).toBe('viewer')
  })
})
