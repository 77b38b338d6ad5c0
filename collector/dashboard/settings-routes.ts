import type { FastifyInstance } from 'fastify'
import { z } from 'zod'
import { sessionOf } from '../access/http-access.js'
import type { DashboardRoutesDeps } from './dashboard-routes.js'
import { userSettingsSchema } from './user-settings-store.js'

/** The user's notification settings (a viewer reads, an owner saves) and the test notification. */
export function registerSettingsRoutes(app: FastifyInstance, deps: DashboardRoutesDeps): void {
  app.get(
    '/api/settings',
    {
      schema: { tags: ['settings'], summary: "The user's notification settings and the channels there are" },
    },
    async (request) => {
      const session = sessionOf(request)
      if (!session) throw new Error('unreachable: guarded')
      const webPush = deps.alerts.channels.find((c) => c.kind === 'webpush')
      return {
        user: session.user,
        settings: deps.settings.get(session.user),
        availableChannels: deps.alerts.channels.map((c) => ({ name: c.name, kind: c.kind })),
        ...(webPush ? { vapidPublicKey: webPush.vapid.publicKey } : {}),
      }
    },
  )

  app.put(
    '/api/settings',
    { schema: { tags: ['settings'], summary: 'Saves the notification settings (owner)' } },
    async (request, reply) => {
      const session = sessionOf(request)
      const parsed = userSettingsSchema.safeParse(request.body)
      if (!session || !parsed.success) {
        return reply.code(400).send({ error: parsed.error ? z.prettifyError(parsed.error) : 'bad request' })
      }
      const known = new Set(deps.alerts.channels.map((c) => c.name))
      const unknown = parsed.data.channels.filter((c) => !known.has(c))
      if (unknown.length > 0)
        return reply.code(400).send({ error: `unknown channels: ${unknown.join(', ')}` })
      await deps.settings.set(session.user, parsed.data)
      return { settings: deps.settings.get(session.user) }
    },
  )

  app.post(
    '/api/settings/test-notification',
    {
      schema: { tags: ['settings'], summary: "Sends a test notification on the user's channels (owner)" },
    },
    async (request) => {
      const session = sessionOf(request)
      if (!session) throw new Error('unreachable: guarded')
      return { channels: deps.sendTest(session.user) }
    },
  )
}
