"""Discord gateway v10 protocol facts: opcodes, close codes, intents and limits.

Every number the shard obeys lives here with the reason for it, so the connection code reads
as policy and a protocol change is a one-line edit.

Upstream: discord-api-docs `developers/topics/gateway.mdx` (opcodes, close codes, rate
limits) and `gateway-events.mdx` (payload shapes); project notes in
shared/docs/discord-protocol.md sections 1 and 3.
"""

from __future__ import annotations

import enum
from typing import Final


class Opcode(enum.IntEnum):
    """Gateway opcodes a bot sends or receives (Upstream: Gateway Opcodes table)."""

    DISPATCH = 0  # recv: an event with `t` and `s`
    HEARTBEAT = 1  # send, and recv (server asks for a beat at once)
    IDENTIFY = 2  # send: start a new session
    PRESENCE_UPDATE = 3  # send
    VOICE_STATE_UPDATE = 4  # send (unused)
    RESUME = 6  # send: continue a session on resume_gateway_url
    RECONNECT = 7  # recv: reconnect and resume; may even come before HELLO
    REQUEST_GUILD_MEMBERS = 8  # send (unused)
    INVALID_SESSION = 9  # recv: d=true resumable, d=false identify again
    HELLO = 10  # recv: first frame, carries heartbeat_interval (ms)
    HEARTBEAT_ACK = 11  # recv: answers our op 1 (any `d`, Spacebar sends {})


#: Fixes for the close codes that stop the shard; shown to the operator verbatim.
_FATAL_FIXES: Final[dict[int, tuple[str, str]]] = {
    4004: ("authentication failed", "the bot token is wrong or was reset; put a fresh token "
           "from the developer portal (Bot > Reset Token) in the environment"),
    4010: ("invalid shard", "shard_id must be below shard_count; fix the shard settings"),
    4011: ("sharding required", "the bot is in too many guilds for one shard (2500 max); "
           "raise shard_count to the `shards` value of GET /gateway/bot"),
    4012: ("invalid API version", "the gateway URL must carry v=10; upgrade familybot-trio"),
    4013: ("invalid intents", "the intents bitmask is malformed; use gateway.Intents values"),
    4014: ("disallowed intents", "enable the Message Content intent in the developer portal "
           "(Bot > Privileged Gateway Intents), or set `prefix_commands = false`"),
}


class CloseCode(enum.IntEnum):
    """Discord's gateway close codes (Upstream: Gateway Close Event Codes table)."""

    UNKNOWN_ERROR = 4000  # also the code WE send before a resume (keeps the session)
    UNKNOWN_OPCODE = 4001  # our bug: bad op or payload
    DECODE_ERROR = 4002  # our bug: bad JSON or a payload over 4096 bytes
    NOT_AUTHENTICATED = 4003  # payload before IDENTIFY: start a new session
    AUTHENTICATION_FAILED = 4004  # bad token: fatal
    ALREADY_AUTHENTICATED = 4005  # our bug: IDENTIFY twice
    INVALID_SEQ = 4007  # RESUME with a bad seq: start a new session
    RATE_LIMITED = 4008  # over 120 sends / 60 s: resume after a backoff
    SESSION_TIMED_OUT = 4009  # start a new session
    INVALID_SHARD = 4010  # fatal
    SHARDING_REQUIRED = 4011  # fatal
    INVALID_API_VERSION = 4012  # fatal
    INVALID_INTENTS = 4013  # fatal
    DISALLOWED_INTENTS = 4014  # fatal

    @property
    def can_reconnect(self) -> bool:
        """False for 4004 and 4010-4014: reconnecting would loop and burn identifies."""
        return self.value not in _FATAL_FIXES

    @property
    def needs_new_session(self) -> bool:
        """True when the session is gone (4003, 4007, 4009): IDENTIFY, do not RESUME."""
        return self in (CloseCode.NOT_AUTHENTICATED, CloseCode.INVALID_SEQ,
                        CloseCode.SESSION_TIMED_OUT)

    @property
    def cause_and_fix(self) -> tuple[str, str]:
        """(cause, fix) sentence pair for a fatal code; ("", "") for reconnectable ones."""
        return _FATAL_FIXES.get(self.value, ("", ""))


def is_fatal_close(code: int | None) -> bool:
    """True when a close `code` (any int, or None for no close frame) forbids reconnecting."""
    return code is not None and code in _FATAL_FIXES


class Intents(enum.IntFlag):
    """IDENTIFY intents bitmask (Upstream: Gateway Intents). Privileged ones marked *."""

    GUILDS = 1 << 0
    GUILD_MEMBERS = 1 << 1  # * privileged
    GUILD_PRESENCES = 1 << 8  # * privileged
    GUILD_MESSAGES = 1 << 9
    DIRECT_MESSAGES = 1 << 12
    MESSAGE_CONTENT = 1 << 15  # * privileged: without it 4014 when not enabled in the portal

    @classmethod
    def for_bot(cls, *, prefix_commands: bool) -> Intents:
        """The intents familybot needs: message content only when `!` commands are on."""
        base = cls.GUILDS | cls.GUILD_MESSAGES | cls.DIRECT_MESSAGES
        return base | cls.MESSAGE_CONTENT if prefix_commands else base


#: Privileged intents need a switch in the developer portal (else close 4014).
PRIVILEGED_INTENTS: Final = Intents.GUILD_MEMBERS | Intents.GUILD_PRESENCES | Intents.MESSAGE_CONTENT

API_VERSION: Final = 10
#: Query string for both the main URL and resume_gateway_url (twilight #1901: a resume
#: without it is treated as a fresh connection).
GATEWAY_QUERY: Final = f"v={API_VERSION}&encoding=json&compress=zlib-stream"
#: zlib-stream payloads end with the Z_SYNC_FLUSH marker.
ZLIB_SUFFIX: Final = b"\x00\x00\xff\xff"
#: Frames up to 16 MiB: big guilds' READY/GUILD_CREATE pass trio-websocket's 1 MiB default.
MAX_FRAME_BYTES: Final = 16 * 2**20
#: Discord closes with 4002 when one payload we send is larger than this.
MAX_PAYLOAD_BYTES: Final = 4096

#: 120 sends per connection per 60 s, else close 4008 (Upstream: Rate Limiting).
SEND_LIMIT: Final = 120
SEND_WINDOW_S: Final = 60.0
#: Slots kept for heartbeats: at the 41.25 s interval two beats fall into a window, plus one
#: answer to a server op 1; 3 is what hikari keeps (117 + 3).
HEARTBEAT_RESERVE: Final = 3

#: IDENTIFY windows are 5 s per max_concurrency bucket; we never identify faster than that.
IDENTIFY_SPACING_S: Final = 5.0
#: After op 9 d=false wait a random 1-5 s before IDENTIFY (Discord staff, api-docs PR #244).
INVALID_SESSION_WAIT_S: Final = (1.0, 5.0)
#: How long after the last live connection ended we keep trying to RESUME. Discord keeps a
#: session resumable for "a few minutes" after a non-1000 close (Gateway > Resuming) and
#: answers op 9 d=false once it is gone, so failed connects within this window never cost
#: the session (an outage of a second or two used to throw it away after 3 attempts).
RESUMABLE_FOR_S: Final = 180.0
#: Reconnect backoff: uniform(0, min(cap, base ** failures)) seconds.
BACKOFF_BASE: Final = 2.0
BACKOFF_CAP_S: Final = 60.0
#: HELLO must come this soon after the handshake (serenity uses 15 s).
HELLO_TIMEOUT_S: Final = 15.0
#: Opening handshake timeout (twilight: 10 s). Bounds TCP connect + TLS + the HTTP upgrade
#: together with our own cancel scope: trio-websocket's connect_timeout does not fire when
#: the TCP connect succeeds and no 101 ever comes (a load balancer with a dead backend).
CONNECT_TIMEOUT_S: Final = 10.0
#: Sent on the websocket handshake and on every REST call (Reference > User Agent).
USER_AGENT: Final = "DiscordBot (https://github.com/familybot-trio/familybot-trio, 0.1.0) trio"
#: Every close we send waits at most this long for the echo, then drops the TCP stream.
CLOSE_TIMEOUT_S: Final = 2.0
#: Frames the reader takes in one step when they arrived together (a burst): ~5-20 us each
#: (inflate + parse), so a step stays well under 1 ms and heartbeats run between steps.
#: 32 rather than 64: the batch's decoded events stay in cache until the dispatcher runs
#: them (bench S5: ~8 % more events per CPU second than 64 in two paired runs).
MAX_BATCH: Final = 32
