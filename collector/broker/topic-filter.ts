/**
 * True when an MQTT topic filter matches a topic name (MQTT 3.1.1 section 4.7): `+` matches exactly one
 * level, a trailing `#` matches its parent level and everything below it. A filter starting with a
 * wildcard does not match a `$` topic (MQTT-4.7.2-1).
 */
export function topicMatchesFilter(filter: string, topic: string): boolean {
  if (topic.startsWith('$') && (filter.startsWith('+') || filter.startsWith('#'))) return false
  const filterLevels = filter.split('/')
  const topicLevels = topic.split('/')
  for (const [index, level] of filterLevels.entries()) {
    if (level === '#') return index === filterLevels.length - 1
    const topicLevel = topicLevels[index]
    if (topicLevel === undefined) return false
    if (level !== '+' && level !== topicLevel) return false
  }
  return filterLevels.length === topicLevels.length
}
