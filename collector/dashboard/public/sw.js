// Service worker of the doorbell dashboard: shows Web Push alerts (payload: the alert JSON of docs/alerts.md)
// with a "Live" action on presses, and opens the event, or the live view, when a notification is tapped.
// No offline caching: the dashboard is live data.
importScripts('/notifications.js')

self.addEventListener('install', () => self.skipWaiting())
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()))

self.addEventListener('push', (event) => {
  const alert = event.data ? event.data.json() : { title: 'Doorbell', body: '', tag: 'doorbell' }
  const { title, options } = self.doorbellNotifications.fromAlert(alert)
  event.waitUntil(self.registration.showNotification(title, options))
})

self.addEventListener('notificationclick', (event) => {
  event.notification.close()
  const target = self.doorbellNotifications.targetOf(event.action, event.notification.data)
  event.waitUntil(self.doorbellNotifications.open(target))
})
