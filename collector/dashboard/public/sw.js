// Service worker of the doorbell dashboard: shows Web Push alerts (payload: the alert JSON of docs/alerts.md)
// and opens the event when a notification is tapped. No offline caching: the dashboard is live data.
self.addEventListener('install', () => self.skipWaiting())
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()))

self.addEventListener('push', (event) => {
  const alert = event.data ? event.data.json() : { title: 'Doorbell', body: '', tag: 'doorbell' }
  event.waitUntil(
    self.registration.showNotification(alert.title, {
      body: alert.body,
      tag: alert.tag,
      renotify: !alert.isUpdate,
      image: alert.imageUrl ?? undefined,
      icon: '/icon.svg',
      data: { url: alert.clickUrl ?? (alert.kind === 'press' && alert.id ? `/#/event/${alert.id}` : '/') },
    }),
  )
})

self.addEventListener('notificationclick', (event) => {
  event.notification.close()
  const url = event.notification.data?.url ?? '/'
  event.waitUntil(self.clients.openWindow(url))
})
