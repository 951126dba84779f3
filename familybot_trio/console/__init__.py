"""A debug REPL served inside the running bot, on a Unix socket only its owner can use.

`serve_console(path, namespace)` runs in the app nursery. Each connection is a session: its
own namespace (a copy of the shared one, so `x = 1` in one session is not seen by another,
while the objects themselves, the store or the gateway, are the live ones) plus `print`,
`help`, `exit` bound to the session. Every input runs INSIDE the bot's trio loop, so
`await store.fetch(...)` works at top level. Code is compiled with
`ast.PyCF_ALLOW_TOP_LEVEL_AWAIT`; a code object flagged CO_COROUTINE is awaited, so an
expression that merely *returns* a coroutine object is shown, not run.

Safety: console code runs in the session's own nursery. Any exception it raises (including
KeyboardInterrupt and SystemExit) is printed to the client and never reaches the bot's
nursery; a client that disconnects mid-statement cancels that statement only. Console code
*can* still block the loop (`time.sleep(5)`) or break shared objects: it is a debugger.
Access: the socket is chmod 0600 inside a 0700 directory, and on Linux each peer's uid
(SO_PEERCRED) must be ours or root.

Wire protocol (UTF-8 JSON, one object per line). Server to client: {"out": text} (output,
streamed as it is printed), {"prompt": ">>> " | "... "} (send the next line now),
{"bye": text} (the session ends). Client to server: {"line": text} and {"interrupt": true}
(Ctrl-C: cancels the running statement, or drops a half-typed block).

Layout: `_server` (the socket, access, serve_console), `_session` (one session: compile,
run, print; stdout routing), `_helpers` (tasks, lag), `_client` (connect, the CLI's side).
"""

from familybot_trio.console._client import connect
from familybot_trio.console._helpers import Text, lag, tasks
from familybot_trio.console._server import MAX_SOCKET_PATH_BYTES, serve_console
from familybot_trio.console._session import PS1, PS2

__all__ = ["MAX_SOCKET_PATH_BYTES", "PS1", "PS2", "Text", "connect", "lag", "serve_console",
           "tasks"]
