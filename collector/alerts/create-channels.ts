import type { AlertsConfig } from './alerts-config.js'
import type { Channel } from './channel.js'
import { HttpNtfyChannel } from './ntfy-channel.js'
import type { PushSubscriptionStore, StoredPushSubscription } from './push-subscription-store.js'
import { WebPushChannel } from './web-push-channel.js'
import { HttpWebhookChannel } from './webhook-channel.js'

/** The channels the config names, built with their adapters. */
export function createChannels(
  config: AlertsConfig,
  deps: {
    subscriptions: PushSubscriptionStore
    onSubscriptionGone?: (subscription: StoredPushSubscription, status: number) => void
    onEndpointRefused?: (subscription: StoredPushSubscription) => void
  },
): Channel[] {
  const timeoutMs = config.retry.timeoutMs
  return config.channels.map((channel): Channel => {
    switch (channel.kind) {
      case 'webhook':
        return new HttpWebhookChannel({
          name: channel.name,
          url: channel.url,
          secret: channel.secret,
          timeoutMs,
        })
      case 'ntfy':
        return new HttpNtfyChannel({
          name: channel.name,
          serverUrl: channel.serverUrl,
          topic: channel.topic,
          ...(channel.token ? { token: channel.token } : {}),
          timeoutMs,
        })
      default:
        return new WebPushChannel({
          name: channel.name,
          vapid: channel.vapid,
          ttlS: channel.ttlS,
          timeoutMs: channel.timeoutMs,
          connections: channel.connections,
          subscriptions: deps.subscriptions,
          endpoints: config.pushEndpoints,
          ...(deps.onEndpointRefused ? { onEndpointRefused: deps.onEndpointRefused } : {}),
          ...(deps.onSubscriptionGone ? { onSubscriptionGone: deps.onSubscriptionGone } : {}),
        })
    }
  })
}
