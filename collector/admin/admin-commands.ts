import { writeFileSync } from 'node:fs'
import { stringify } from 'yaml'
import { DoorbellError } from '../../shared/errors.js'
import type { ManagedIdentityRegistry } from '../registry/identity-registry.js'

/** Options of the commands that print or write a device's credentials. */
export interface CredentialOptions {
  /** Write a ready agent config (YAML, mode 0600) here instead of printing the secret. */
  readonly writeConfig?: string | undefined
  /** Broker URL put in the agent config, e.g. mqtts://collector.local:8883. */
  readonly url: string
  /** Pinned CA file for mqtts, put in the agent config. */
  readonly caFile?: string | undefined
}

/** The agent config fields the admin CLI writes (common protocol, shared with the agent). */
export function agentConfigYaml(deviceId: string, secret: string, options: CredentialOptions): string {
  return stringify({
    deviceId,
    mqtt: {
      url: options.url,
      username: deviceId,
      password: secret,
      ...(options.caFile ? { caFile: options.caFile } : {}),
    },
  })
}

function deliver(deviceId: string, secret: string, options: CredentialOptions, verb: string): string {
  if (options.writeConfig) {
    writeFileSync(options.writeConfig, agentConfigYaml(deviceId, secret, options), { mode: 0o600 })
    return `${verb} device ${deviceId}; agent config written to ${options.writeConfig}\n`
  }
  return `${verb} device ${deviceId}\nsecret: ${secret}\n(shown once: store it in the agent's config as mqtt.password)\n`
}

/** Runs one admin command against the registry; returns what to print. */
export async function runAdminCommand(
  registry: ManagedIdentityRegistry,
  group: string,
  action: string,
  name: string | undefined,
  options: CredentialOptions & { readonly isJson?: boolean },
): Promise<string> {
  const need = (): string => {
    if (!name) throw new DoorbellError('USAGE', `${group} ${action} needs a name`)
    return name
  }
  if (group === 'devices') {
    switch (action) {
      case 'add':
        return deliver(need(), await registry.addDevice(need()), options, 'added')
      case 'rotate':
        return deliver(need(), await registry.rotateDevice(need()), options, 'rotated the secret of')
      case 'disable':
        await registry.setDeviceDisabled(need(), true)
        return `disabled device ${need()} (connected sessions are cut within seconds)\n`
      case 'enable':
        await registry.setDeviceDisabled(need(), false)
        return `enabled device ${need()}\n`
      case 'remove':
        await registry.removeDevice(need())
        return `removed device ${need()} (its stored events are kept)\n`
      case 'list': {
        const devices = registry.listDevices().map(({ secretHash: _, ...rest }) => rest)
        if (options.isJson) return `${JSON.stringify(devices, null, 2)}\n`
        if (devices.length === 0) return 'no devices\n'
        return `${devices
          .map((d) => `${d.deviceId}\t${d.isDisabled ? 'disabled' : 'enabled'}\tcreated ${d.createdAt}`)
          .join('\n')}\n`
      }
    }
  }
  if (group === 'users') {
    switch (action) {
      case 'add': {
        const secret = await registry.addUser(need())
        return `added read-only user ${need()}\nsecret: ${secret}\n(shown once; client id must be ${need()} or start with ${need()}:)\n`
      }
      case 'remove':
        await registry.removeUser(need())
        return `removed user ${need()}\n`
      case 'list': {
        const users = registry.listUsers().map(({ secretHash: _, ...rest }) => rest)
        if (options.isJson) return `${JSON.stringify(users, null, 2)}\n`
        if (users.length === 0) return 'no users\n'
        return `${users.map((u) => `${u.name}\tcreated ${u.createdAt}`).join('\n')}\n`
      }
    }
  }
  throw new DoorbellError('USAGE', `unknown command: ${group} ${action}`)
}
