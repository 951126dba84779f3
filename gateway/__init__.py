"""A small Discord client: gateway shard, REST, commands. Knows nothing of Steam.

Public names are re-exported here as the modules land (shard, rest, commands, messages).
"""

from gateway.errors import FatalCloseError, GatewayError, HTTPError

__all__ = ["FatalCloseError", "GatewayError", "HTTPError"]
