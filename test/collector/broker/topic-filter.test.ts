import { describe, expect, it } from 'vitest'
import { topicMatchesFilter } from '../../../collector/broker/topic-filter.js'

describe('topicMatchesFilter (MQTT 3.1.1 section 4.7)', () => {
  it.each([
    ['homeassistant/#', 'homeassistant/event/doorbell_a/press/config', true],
    ['homeassistant/+/+/+/config', 'homeassistant/event/doorbell_a/press/config', true],
    ['homeassistant/+/+/config', 'homeassistant/event/doorbell_a/press/config', false],
    ['homeassistant/+/doorbell_a/#', 'homeassistant/sensor/doorbell_a/light/config', true],
    ['homeassistant/+/doorbell_b/#', 'homeassistant/sensor/doorbell_a/light/config', false],
    ['sport/#', 'sport', true],
    ['sport/+', 'sport', false],
    ['sport/+', 'sport/', true],
    ['#', '$SYS/broker', false],
    ['+/broker', '$SYS/broker', false],
    ['$SYS/#', '$SYS/broker', true],
    ['a/b', 'a/b/c', false],
  ])('%s against %s is %s', (filter, topic, isMatch) => {
    expect(topicMatchesFilter(filter, topic)).toBe(isMatch)
  })
})
