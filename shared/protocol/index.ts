/** Protocol v1: topics, envelope, message types, limits and codec. See docs/protocol.md. */
export * from './classes.js'
export * from './codec.js'
export * from './envelope.js'
export * from './ids.js'
export * from './limits.js'
export * from './messages.js'
export * from './topics.js'
