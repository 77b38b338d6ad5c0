/** Priority classes. high: a press, sent at once. medium: readings, batched. low: clips, uploaded lazily. */
export const eventClasses = ['high', 'medium', 'low'] as const

/** One of the three priority classes. */
export type EventClass = (typeof eventClasses)[number]

/** Order in which classes are sent after a reconnect and evicted under pressure (reverse). */
export const classRank: Readonly<Record<EventClass, number>> = { high: 0, medium: 1, low: 2 }
