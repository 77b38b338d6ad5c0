import { DoorbellError } from '../../shared/errors.js'
import type { HomeownerRole } from '../dashboard/homeowner-store.js'
import type { Homeowners } from '../dashboard/homeowners.js'

/** Options of `doorbell-admin homeowners`. */
export interface HomeownerCommandOptions {
  readonly role?: string
  readonly password?: string
  readonly isJson: boolean
}

function parseRole(role: string | undefined): HomeownerRole | undefined {
  if (role === undefined) return undefined
  if (role === 'owner' || role === 'viewer') return role
  throw new DoorbellError('USAGE', `--role is owner or viewer, not ${role}`)
}

/**
 * `doorbell-admin homeowners add|list|remove|passwd`: dashboard logins, separate from the MQTT
 * service users of `users`. The password comes from --password or, better, the DOORBELL_PASSWORD variable
 * the caller passes in (it stays out of the shell history and the process list).
 */
export async function runHomeownerCommand(
  store: Homeowners,
  action: string,
  name: string | undefined,
  options: HomeownerCommandOptions,
): Promise<string> {
  const role = parseRole(options.role)
  if (action === 'list') {
    const list = await store.list()
    if (options.isJson) return `${JSON.stringify(list)}\n`
    return list.map((h) => `${h.name}\t${h.role}\t${h.createdAt}\n`).join('') || 'no homeowners\n'
  }
  if (!name) throw new DoorbellError('USAGE', `homeowners ${action} needs a name`)
  switch (action) {
    case 'add': {
      if (!options.password) throw new DoorbellError('USAGE', 'set DOORBELL_PASSWORD or --password')
      const added = await store.add(name, options.password, role ?? 'viewer')
      return `added ${added.name} (${added.role})\n`
    }
    case 'passwd':
      if (!options.password && !role) throw new DoorbellError('USAGE', 'give a new password and/or --role')
      await store.update(name, {
        ...(options.password ? { password: options.password } : {}),
        ...(role ? { role } : {}),
      })
      return `updated ${name}\n`
    case 'remove':
      if (!(await store.remove(name))) throw new DoorbellError('USAGE', `no homeowner ${name}`)
      return `removed ${name}\n`
    default:
      throw new DoorbellError('USAGE', `unknown homeowners action ${action}`)
  }
}
