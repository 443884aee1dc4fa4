/** Limits that both the server and clients need to know. */
export const Limits = {
  /** Text content, measured in UTF-8 bytes. */
  maxContentBytes: 64 * 1024,
  /** A whole socket frame: the largest content plus envelope. */
  maxFrameBytes: 72 * 1024,
  /** A socket message may carry a batch (JSON array) of frames: at most this many… */
  maxFramesPerMessage: 100,
  /** …in at most this many bytes. */
  maxBatchBytes: 256 * 1024,
  /**
   * A REST request body (JSON), checked before it is read or parsed: the largest legitimate one (a
   * message of maxContentBytes escaped as JSON, a 500-member group) is well under it. Media bytes go
   * to their signed upload URL, which has its own per-kind limits.
   */
  maxRequestBodyBytes: 300 * 1024,
  historyDefaultPage: 50,
  /**
   * A page of history, `sync` or catch-up stops once it holds this many bytes of messages (always at
   * least one) and says `has_more`: a page of 500 messages of 64 KiB each would otherwise be 32 MiB.
   */
  historyPageMaxBytes: 1024 * 1024,
  /** History and `sync` requests per user (REST, device and live sockets together): a burst of this many… */
  historyBurst: 120,
  /** …then this many a second. With the page cap this bounds what one user can pull: ≤ 10 MiB/s. */
  historyPerSecond: 10,
  historyMaxPage: 100,
  /**
   * Catch-up on (re)connect, per user, in bytes of messages sent: a burst of this many (a phone back
   * after a long flight)… (CATCH_UP_BURST_BYTES)
   */
  catchUpBurstBytes: 64 * 1024 * 1024,
  /** …then this many a second: a client reconnecting in a loop cannot pull its backlog faster. (CATCH_UP_BYTES_PER_SECOND) */
  catchUpBytesPerSecond: 8 * 1024 * 1024,
  syncMaxPage: 500,
  /** Messages per page when a device catches up after reconnecting. */
  replayPage: 500,
  clientMsgIdMaxLength: 128,
  groupMaxMembers: 500,
  /** A typing state with no `stopped` ends by itself after this long. */
  typingExpiryMs: 5_000,
  /**
   * Clients send a heartbeat this often on an otherwise quiet socket. Every heartbeat costs the
   * server ≈ 35 µs of runtime CPU (it is answered without waking the object): 8,000 idle sockets at
   * 25 s were 1.1% of a core, at 45 s 0.6% (docs/performance.md). 45 s is also well inside the idle
   * timeouts of NATs, proxies and Cloudflare's edge (100 s).
   */
  heartbeatIntervalMs: 45_000,
  /** A heartbeat with nothing heard back within this long means the link is gone: the client reconnects. */
  heartbeatAnswerMs: 10_000,
  /**
   * A device socket silent (no frame, no heartbeat) for longer than this counts as gone: two
   * heartbeat periods and a margin, because browsers may delay the timers of background tabs.
   */
  deviceSilenceMs: 100_000,
  /**
   * How long a presence subscription lasts unless renewed by subscribing again (the SDK renews at
   * half of it). Long, because a watcher whose app went away is dropped at the next change anyway.
   */
  presenceSubscriptionMs: 30 * 60_000,
  presenceSubscribeMaxUsers: 100,
  /**
   * Presence watches per user (each watched user counts once per subscribe): a burst of this many —
   * a phone with hundreds of chats re-watches all of them on every reconnect — then this many a second.
   */
  presenceWatchBurst: 1_000,
  presenceWatchesPerSecond: 10,
  /** At most one typing frame per user per conversation is forwarded in this window. */
  typingMinIntervalMs: 1_000,
  /**
   * Typing reaches members' device sockets (for "typing…" in conversation lists) only in
   * conversations up to this size; in bigger groups it reaches only live sockets, i.e. members with
   * the conversation open. Each forward to device sockets is one call per member.
   */
  typingToDevicesMaxMembers: 32,
  groupNameMaxLength: 100,
  groupDescriptionMaxLength: 512,
  /** A profile's "about" text, as WhatsApp's. */
  aboutMaxLength: 139,
  /** Disappearing messages: the timers a conversation may have (0 = off): 24 hours, 7 days, 90 days. */
  disappearingChoicesMs: [0, 24 * 3_600_000, 7 * 24 * 3_600_000, 90 * 24 * 3_600_000],
  reportReasonMaxLength: 500,
  /** The newest messages a report carries, as the reporter saw them (WhatsApp sends five). */
  reportMessages: 5,
  usernamePattern: /^[a-z0-9_]{3,32}$/,
  passwordMinLength: 8,
  passwordMaxLength: 256,
  displayNameMaxLength: 64,
  deviceIdPattern: /^[A-Za-z0-9_-]{1,64}$/,
  /** Default media size limits per kind (a deployment may lower or raise them: see docs/deploy.md). */
  maxImageBytes: 16 * 1024 * 1024,
  maxVideoBytes: 64 * 1024 * 1024,
  maxDocumentBytes: 100 * 1024 * 1024,
  /** Audio: the longest voice message below, recorded as speech-quality Opus (32 kbit/s), fits; so does a song. */
  maxAudioBytes: 16 * 1024 * 1024,
  /** The longest voice message a recorder may declare (the web client stops recording there). */
  voiceMaxDurationMs: 60 * 60_000,
  /** Amplitude bars a voice message's waveform holds at most. */
  waveformMaxBars: 64,
  /** How long a pre-signed upload URL stays valid. */
  uploadUrlTtlMs: 15 * 60_000,
  mediaFilenameMaxLength: 255,
  /**
   * Media one user may hold, in bytes, counting uploads granted and not yet lapsed (a deployment may
   * change it: MEDIA_QUOTA_BYTES). Past it, an upload is refused (413 \`media_quota_exceeded\`).
   */
  mediaQuotaBytes: 4 * 1024 * 1024 * 1024,
  /** Upload grants per user: a burst of this many (an album), then this many a second. */
  uploadBurst: 30,
  uploadsPerSecond: 1,
  /** An upload not completed this long after its URL lapsed is deleted, bytes and record. */
  unfinishedUploadGraceMs: 5 * 60_000,
  /** Thumbnails fit in a square of this many pixels. */
  thumbnailMaxPixels: 320,
  /** Push: at most one notification per user per conversation in this window (later ones coalesce)… */
  pushCoalesceMs: 30_000,
  /** …and at most this many per user per minute. */
  pushPerMinute: 10,
  pushSubscriptionsPerUser: 10,
  /** Per-user send rate, a token bucket: this many at once… */
  sendBurst: 60,
  /** …refilled at this many per second. */
  sendPerSecond: 20,
  /**
   * Creating a group or adding members, per adder: a burst of this many, then one every
   * `groupChangeEverySeconds`. Bounds how fast one account can put others into conversations.
   */
  groupChangeBurst: 30,
  groupChangeEverySeconds: 5,
  /** Devices (install ids) one user may connect. */
  devicesPerUser: 10,
  /** Live sockets one user may hold on one conversation; opening another closes their oldest. */
  liveSocketsPerUser: 10,
  /**
   * Conversations a user is in by their own doing (started, accepted an invitation, joined by link).
   * Conversations others put them in count apart (`conversationsAddedByOthers`), so what others do
   * can never stop a user from starting a chat.
   */
  conversationsPerUser: 5_000,
  /** Conversations others may put one user in; past it the adder gets `recipient_limit`. */
  conversationsAddedByOthers: 5_000,
  /** Pending invitations one user may hold (oldest expire first); past it the inviter gets `recipient_limit`. */
  invitationsPerUser: 1_000,
  /** An invitation not accepted within this long lapses (WhatsApp: 72 hours). */
  invitationTtlMs: 3 * 24 * 60 * 60_000,
  /** Conversations per page of `GET /conversations`. */
  conversationListDefaultPage: 100,
  conversationListMaxPage: 500,
  /** Conversations a user may pin to the top of their list. */
  pinnedConversations: 3,
  /** Conversations one `leave` or `archive` request may name. */
  bulkConversationsMax: 500,
  /** A signed-in session ends this long after login, however often its token is refreshed: log in again. */
  sessionMaxLifetimeMs: 30 * 24 * 60 * 60_000,
  /**
   * After a refresh the replaced token may still refresh (to the current version) for this long: two
   * tabs of one browser refreshing at once are not a stolen token. Past it, a replaced token used to
   * refresh ends the session.
   */
  sessionRefreshGraceMs: 30_000,
  /** Push services keep an undelivered notification this long. */
  pushTtlSeconds: 24 * 60 * 60,
  /** The sender may edit a text message for this long after sending it (the server's clock). */
  editWindowMs: 15 * 60_000,
  /** The sender may delete a message for everyone for this long; a group admin may delete any message at any time. */
  deleteWindowMs: 48 * 60 * 60_000,
  /** Conversations one forward may go to. */
  forwardMaxTargets: 5,
  /** A message forwarded this many hops or more reads "Forwarded many times" (WhatsApp's five). */
  forwardedManyTimes: 5,
  /** The snippet a reply carries of the message it quotes, in UTF-16 code units. */
  quoteSnippetMax: 200,
  /** Mentions in one message. */
  mentionsMax: 50,
  /** A reaction is one emoji: at most this many UTF-16 code units (a family or flag sequence fits). */
  reactionMaxLength: 32,
  /** Starred messages per page of `GET /users/me/starred`. */
  starredPageMax: 100,
  /** Marks (starred, hidden) per page of `GET /users/me/marks`. */
  marksPageMax: 500,
  /** A search's text, in UTF-16 code units. */
  searchQueryMax: 200,
  /** Words of a search that count (each must match); the rest are ignored. */
  searchTermsMax: 8,
  /** Messages per page of a search. */
  searchPageMax: 50,
  /** Conversations and people in an answer of `GET /search`. */
  searchNamesMax: 20,
} as const;

const SEGMENTER = typeof Intl !== "undefined" && "Segmenter" in Intl ? new Intl.Segmenter("en", { granularity: "grapheme" }) : null;
/** Code points an emoji is made of: pictographs, skin tones, joiners, variation selectors, keycaps, flags, tags. */
const EMOJI_PARTS = /^[\p{Extended_Pictographic}\p{Emoji_Modifier}\p{Emoji_Component}\u200d\ufe0f\u20e3\u{e0020}-\u{e007f}]+$/u;
/** Something that renders as an emoji: a pictograph, a flag (two regional indicators) or a keycap. */
const EMOJI_BASE = /\p{Extended_Pictographic}|\p{Regional_Indicator}{2}|\u20e3/u;

/** Whether `text` is exactly one emoji (one grapheme made only of emoji code points): what a reaction may be. */
export function isSingleEmoji(text: string): boolean {
  if (text.length === 0 || text.length > Limits.reactionMaxLength) return false;
  if (!EMOJI_PARTS.test(text) || !EMOJI_BASE.test(text)) return false;
  if (SEGMENTER === null) return true;
  let graphemes = 0;
  for (const _ of SEGMENTER.segment(text)) if (++graphemes > 1) return false;
  return graphemes === 1;
}

const encoder = new TextEncoder();
export function utf8Length(text: string): number {
  return encoder.encode(text).length;
}
