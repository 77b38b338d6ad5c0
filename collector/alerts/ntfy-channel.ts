import type { Alert } from './alert.js'
import { type Channel, httpDeliveryError, postWithTimeout } from './channel.js'

/** Settings of one ntfy topic. */
export interface NtfyChannelOptions {
  readonly name: string
  readonly serverUrl: string
  readonly topic: string
  readonly token?: string
  readonly timeoutMs: number
}

/** Header values must be Latin-1; ntfy decodes RFC 2047 encoded words, so anything else is encoded. */
function headerText(text: string): string {
  return /^[\x20-\x7e]*$/.test(text) ? text : `=?UTF-8?B?${Buffer.from(text, 'utf8').toString('base64')}?=`
}

/**
 * ntfy: a POST to <server>/<topic> with title, priority, tags, click URL, attachment and a "Live" action
 * button as headers. The alert's tag is sent as the sequence id, so on servers that support updating
 * (ntfy 2.16+) the snapshot and clip replace the press notification; older servers show them as a second
 * notification.
 */
export class HttpNtfyChannel implements Channel {
  readonly kind = 'ntfy'
  readonly name: string
  readonly #options: NtfyChannelOptions

  constructor(options: NtfyChannelOptions) {
    this.name = options.name
    this.#options = options
  }

  async send(alert: Alert): Promise<void> {
    const url = `${this.#options.serverUrl.replace(/\/+$/, '')}/${this.#options.topic}`
    const headers: Record<string, string> = {
      'content-type': 'text/plain; charset=utf-8',
      'x-title': headerText(alert.title),
      'x-priority': String(alert.priority),
      'x-tags': alert.tags.join(','),
      'x-sequence-id': alert.tag,
    }
    if (alert.clickUrl) headers['x-click'] = alert.clickUrl
    if (alert.imageUrl) headers['x-attach'] = alert.imageUrl
    // ntfy's action buttons: a "Live" button that opens the device's live view.
    if (alert.liveUrl) headers['x-actions'] = `view, Live, ${alert.liveUrl}`
    if (this.#options.token) headers.authorization = `Bearer ${this.#options.token}`
    const response = await postWithTimeout(
      this.name,
      url,
      { headers, body: alert.body },
      this.#options.timeoutMs,
    )
    if (!response.ok) throw httpDeliveryError(this.name, response.status)
  }
}
