// What the dashboard's notifications show and where a tap leads (docs/dashboard.md). A classic script, not a
// module: the service worker loads it with importScripts, and a page can load it to check the same logic.
self.doorbellNotifications = {
  /** showNotification's title and options for an alert payload (the alert JSON of docs/alerts.md). */
  fromAlert(alert) {
    const isVisit = (alert.kind === 'press' || alert.kind === 'motion') && Boolean(alert.deviceId)
    const isDevice = ['offline', 'online', 'temperature'].includes(alert.kind)
    // Paths on this origin, not the alert's publicUrl links: the service worker is the dashboard's, and its
    // session cookie belongs to this origin. A snapshot or clip update carries its press's id as the tag.
    const url = isVisit ? `/#/event/${encodeURIComponent(alert.tag)}` : isDevice ? '/#/devices' : '/'
    const hasLive = alert.kind === 'press' && Boolean(alert.deviceId)
    return {
      title: alert.title,
      options: {
        body: alert.body,
        tag: alert.tag,
        renotify: !alert.isUpdate,
        icon: '/icon.svg',
        ...(alert.snapshotId
          ? { image: `/api/events/${encodeURIComponent(alert.snapshotId)}/snapshot` }
          : {}),
        actions: hasLive ? [{ action: 'live', title: 'Live' }] : [],
        data: {
          url,
          ...(hasLive ? { liveUrl: `/#/live/${encodeURIComponent(alert.deviceId)}` } : {}),
        },
      },
    }
  },

  /** Where a click leads: the device's live view for the "Live" action, else the notification's own page. */
  targetOf(action, data) {
    if (action === 'live' && data?.liveUrl) return data.liveUrl
    return data?.url ?? '/'
  },

  /**
   * Shows `path` in a dashboard window: the one already open (focused, then navigated), else a new one.
   * A page not signed in shows the login first and then the page the hash names.
   */
  async open(path) {
    const url = new URL(path, self.registration.scope).href
    const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true })
    const open = windows.find((w) => new URL(w.url).origin === self.location.origin)
    if (open) {
      // focus() needs the click's user activation; navigate() works on windows this worker controls.
      await open.focus().catch(() => undefined)
      const navigated = await open.navigate(url).catch(() => null)
      if (navigated) return navigated
    }
    return await self.clients.openWindow(url)
  },
}
