#!/usr/bin/env node
import { parseArgs } from 'node:util'
import { DoorbellError } from '../../shared/errors.js'
import { runMain } from '../../shared/run-main.js'
import { loadCollectorConfig } from '../config.js'
import { Homeowners } from '../dashboard/homeowners.js'
import { runAdminCommand } from './admin-commands.js'
import { openAdminStores } from './admin-stores.js'
import { runHomeownerCommand } from './homeowner-commands.js'

const help = `doorbell-admin: manage the collector's devices, read-only service users and dashboard homeowners

Usage:
  doorbell-admin devices add <deviceId> [--write-config FILE] [--url URL] [--ca-file PATH]
  doorbell-admin devices list [--json]
  doorbell-admin devices disable|enable|remove <deviceId>
  doorbell-admin devices rotate <deviceId> [--write-config FILE] [--url URL] [--ca-file PATH]
  doorbell-admin users add <name>
  doorbell-admin users list [--json]
  doorbell-admin users remove <name>
  doorbell-admin homeowners add <name> --role owner|viewer   (password from DOORBELL_PASSWORD)
  doorbell-admin homeowners list [--json]
  doorbell-admin homeowners passwd <name> [--role owner|viewer]
  doorbell-admin homeowners remove <name>

Options:
  --config FILE        the collector's YAML config (to find dataDir, or the fleet's PostgreSQL with store: postgres)
  --data-dir DIR       the collector's data folder (overrides the config; default ./data/collector)
  --write-config FILE  write a ready agent config (mode 0600) instead of printing the secret
  --url URL            broker URL for the agent config (default mqtt://localhost:1883)
  --ca-file PATH       pinned CA certificate path for the agent config (mqtts)
  --role ROLE          homeowner role: owner (changes settings) or viewer (reads)
  --password PASS      homeowner password (prefer the DOORBELL_PASSWORD variable)
  --json               machine-readable list
  --help               show this text

A secret is printed once; the registry keeps only a salted SHA-256 hash of it. Works while the collector runs:
the collector reloads the registry within a second and cuts sessions of disabled, removed or rotated devices.
With store: postgres the registry and the homeowners are the fleet's, in PostgreSQL, and every node hears the change.
`

async function main(): Promise<number> {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof options; allowPositionals: true }>>
  const options = {
    config: { type: 'string' },
    'data-dir': { type: 'string' },
    'write-config': { type: 'string' },
    url: { type: 'string' },
    'ca-file': { type: 'string' },
    json: { type: 'boolean' },
    role: { type: 'string' },
    password: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  } as const
  try {
    parsed = parseArgs({ options, allowPositionals: true })
  } catch (err) {
    throw new DoorbellError('USAGE', (err as Error).message)
  }
  const { values, positionals } = parsed
  if (values.help || positionals.length === 0) {
    process.stdout.write(help)
    return values.help ? 0 : 2
  }
  const [group, action, name] = positionals
  if (!group || !action)
    throw new DoorbellError('USAGE', 'expected: devices|users|homeowners <action> [name]')
  // DOORBELL_PASSWORD is this command's input, not a config field: the config loader would refuse it.
  const { DOORBELL_PASSWORD: _password, ...configEnv } = process.env
  const config = loadCollectorConfig(values.config ?? process.env.DOORBELL_CONFIG, configEnv)
  const stores = await openAdminStores(config, values['data-dir'] ?? config.dataDir)
  const password = values.password ?? process.env.DOORBELL_PASSWORD
  try {
    const out =
      group === 'homeowners'
        ? await runHomeownerCommand(new Homeowners(stores.homeowners), action, name, {
            ...(values.role ? { role: values.role } : {}),
            ...(password ? { password } : {}),
            isJson: values.json === true,
          })
        : await runAdminCommand(await stores.registry(), group, action, name, {
            writeConfig: values['write-config'],
            url: values.url ?? 'mqtt://localhost:1883',
            caFile: values['ca-file'],
            isJson: values.json === true,
          })
    process.stdout.write(out)
    return 0
  } finally {
    await stores.close()
  }
}

runMain(main)
