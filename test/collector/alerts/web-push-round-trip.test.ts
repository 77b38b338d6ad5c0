import { createDecipheriv, createECDH, createPublicKey, hkdfSync, randomBytes, verify } from 'node:crypto'
import type { MqttClient } from 'mqtt'
import { afterEach, describe, expect, it } from 'vitest'
import webPush from 'web-push'
import { type ComposedCollector, startCollector } from '../../../collector/main.js'
import { eventually } from '../../support/eventually.js'
import { addDevice, press, tempDir, testConfig } from '../collector-harness.js'
import { connectDevice, publishEnvelope, type Receiver, startReceiver } from './alerts-harness.js'

/** RFC 8291 section 3.4 / RFC 8188 section 2: decrypts one aes128gcm push message with the UA's keys. */
function decryptAes128gcm(
  body: Buffer,
  uaPrivate: ReturnType<typeof createECDH>,
  authSecret: Buffer,
): Buffer {
  const salt = body.subarray(0, 16)
  const recordSize = body.readUInt32BE(16)
  const keyIdLength = body.readUInt8(20)
  const asPublic = body.subarray(21, 21 + keyIdLength)
  const ciphertext = body.subarray(21 + keyIdLength)
  expect(keyIdLength).toBe(65)
  expect(ciphertext.length).toBeLessThanOrEqual(recordSize)
  const uaPublic = uaPrivate.getPublicKey()
  const ecdhSecret = uaPrivate.computeSecret(asPublic)
  const keyInfo = Buffer.concat([Buffer.from('WebPush: info\0'), uaPublic, asPublic])
  const ikm = Buffer.from(hkdfSync('sha256', ecdhSecret, authSecret, keyInfo, 32))
  const cek = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: aes128gcm\0'), 16))
  const nonce = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: nonce\0'), 12))
  const decipher = createDecipheriv('aes-128-gcm', cek, nonce)
  decipher.setAuthTag(ciphertext.subarray(ciphertext.length - 16))
  const padded = Buffer.concat([
    decipher.update(ciphertext.subarray(0, ciphertext.length - 16)),
    decipher.final(),
  ])
  // The last (only) record ends with the delimiter 0x02 followed by zero padding.
  let end = padded.length - 1
  while (end >= 0 && padded[end] === 0) end -= 1
  expect(padded[end]).toBe(2)
  return padded.subarray(0, end)
}

/** Checks the VAPID JWT (RFC 8292): ES256 over header.payload with the VAPID public key. */
function checkVapid(authorization: string, publicKeyB64: string): Record<string, unknown> {
  const match = /^vapid t=([^,]+), k=(.+)$/.exec(authorization)
  expect(match).not.toBeNull()
  const [, jwt = '', k = ''] = match ?? []
  expect(k).toBe(publicKeyB64)
  const raw = Buffer.from(k, 'base64url')
  const key = createPublicKey({
    key: {
      kty: 'EC',
      crv: 'P-256',
      x: raw.subarray(1, 33).toString('base64url'),
      y: raw.subarray(33, 65).toString('base64url'),
    },
    format: 'jwk',
  })
  const [header = '', payload = '', signature = ''] = jwt.split('.')
  expect(JSON.parse(Buffer.from(header, 'base64url').toString('utf8'))).toMatchObject({
    alg: 'ES256',
    typ: 'JWT',
  })
  const isValid = verify(
    'sha256',
    Buffer.from(`${header}.${payload}`),
    { key, dsaEncoding: 'ieee-p1363' },
    Buffer.from(signature, 'base64url'),
  )
  expect(isValid).toBe(true)
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>
}

describe('Web Push round trip', () => {
  let running: ComposedCollector | undefined
  let device: MqttClient | undefined
  let pushService: Receiver | undefined
  let cleanup: (() => void) | undefined

  afterEach(async () => {
    await device?.endAsync()
    await running?.close()
    await pushService?.close()
    cleanup?.()
    running = undefined
    device = undefined
  })

  it('delivers an aes128gcm payload the subscription can decrypt, with a valid VAPID JWT; a 410 removes it', async () => {
    const dir = tempDir('alerts-webpush')
    cleanup = dir.cleanup
    pushService = await startReceiver([201])
    const vapid = webPush.generateVAPIDKeys()
    const apiToken = 'operator-token-0123456789'
    const deviceSecret = await addDevice(dir.path, 'front-door')
    running = await startCollector(
      testConfig(dir.path, {
        http: { port: 0, apiToken },
        alerts: {
          channels: [
            { kind: 'webpush', name: 'push', vapid: { subject: 'mailto:ops@example.org', ...vapid } },
          ],
          users: [{ name: 'alice', channels: ['push'], cooldownMs: 0 }],
          // The stand-in push service is plain http on loopback.
          pushEndpoints: 'any',
          retry: { attempts: 2, initialMs: 10, maxMs: 20 },
        },
      }),
    )
    const api = `http://127.0.0.1:${running.httpPort}`

    // The browser's side: a P-256 key pair and a 16-byte auth secret, as PushManager.subscribe() makes.
    const ua = createECDH('prime256v1')
    ua.generateKeys()
    const auth = randomBytes(16)
    const subscription = {
      endpoint: `${pushService.url}/push/sub-1`,
      expirationTime: null,
      keys: { p256dh: ua.getPublicKey().toString('base64url'), auth: auth.toString('base64url') },
    }
    const unauthorised = await fetch(`${api}/api/push/subscriptions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user: 'alice', subscription }),
    })
    expect(unauthorised.status).toBe(401)
    const added = await fetch(`${api}/api/push/subscriptions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${apiToken}` },
      body: JSON.stringify({ user: 'alice', subscription }),
    })
    expect(added.status).toBe(201)
    const key = (await (await fetch(`${api}/api/push/vapid-public-key`)).json()) as { publicKey: string }
    expect(key.publicKey).toBe(vapid.publicKey)

    device = await connectDevice(running.mqttPort, 'front-door', deviceSecret)
    const bell = press('front-door', 0)
    await publishEnvelope(device, bell)
    const request = await eventually(() => pushService?.requests[0], 'push request', 5000)

    expect(request.url).toBe('/push/sub-1')
    expect(request.headers['content-encoding']).toBe('aes128gcm')
    expect(request.headers.ttl).toBe('300')
    expect(request.headers.urgency).toBe('high')
    expect(request.headers.topic).toBe(bell.id)
    const claims = checkVapid(String(request.headers.authorization), vapid.publicKey)
    expect(claims.aud).toBe(pushService.url)
    expect(claims.sub).toBe('mailto:ops@example.org')
    expect(Number(claims.exp)).toBeGreaterThan(Date.now() / 1000)
    const message = JSON.parse(decryptAes128gcm(request.body, ua, auth).toString('utf8')) as Record<
      string,
      unknown
    >
    expect(message).toMatchObject({ id: bell.id, tag: bell.id, kind: 'press', deviceId: 'front-door' })

    // The push service says the subscription is gone: it is deleted, not retried.
    pushService.statuses = [410]
    await publishEnvelope(device, press('front-door', 1))
    await eventually(
      async () => (await running?.stores.pushSubscriptions.all())?.length === 0,
      'subscription removed',
      5000,
    )
    expect(pushService.requests).toHaveLength(2)
  })
})
