/**
 * Size limits of protocol v1. The collector's broker refuses any MQTT packet over maxPacketBytes
 * before buffering it; the codec refuses any payload over the limit of its kind.
 */

const KiB = 1024

/** Largest single JSON envelope (button press, reading, health, command, ack). */
export const maxEventBytes = 16 * KiB
/** Largest snapshot envelope: a JPEG of at most maxSnapshotImageBytes, base64 encoded, plus its header. */
export const maxSnapshotImageBytes = 192 * KiB
/** Largest snapshot envelope on the wire (base64 grows data by 4/3). */
export const maxSnapshotEnvelopeBytes = Math.ceil((maxSnapshotImageBytes * 4) / 3) + 4 * KiB
/** Largest batch of medium-class envelopes, in bytes and in envelopes. */
export const maxBatchBytes = 256 * KiB
export const maxBatchItems = 500
/** Largest clip chunk body, and the JSON header in front of it. */
export const maxChunkDataBytes = 256 * KiB
export const maxChunkHeaderBytes = 4 * KiB
/** Largest number of ids acknowledged (and, separately, rejected) in one ack message. */
export const maxAckIds = 1000
/**
 * Largest ack envelope: maxAckIds ids of 29 bytes plus maxAckIds rejections of at most 128 bytes (125 with a 64-character code), plus the
 * header. Acks need their own bound: maxEventBytes would refuse a legal ack of more than about 540 ids.
 */
export const maxAckEnvelopeBytes = maxAckIds * (29 + 128) + 4 * KiB
/** Largest MQTT packet the broker accepts: the biggest payload plus topic and fixed header. */
export const maxPacketBytes =
  Math.max(maxSnapshotEnvelopeBytes, maxBatchBytes, maxChunkDataBytes + maxChunkHeaderBytes + 8) + 2 * KiB
/** Largest SDP in live-view signalling (live.start's offer, live.answer): a few media sections fit in 4 KiB. */
export const maxLiveSdpBytes = 12 * KiB
