"""The claims of a JWT read without verifying its signature (RFC 7519 section 7.2, steps 1-10
minus the signature check).

Steam's access and refresh tokens are JWTs (RFC 7519) in JWS compact serialization (RFC 7515
section 7.1): `BASE64URL(header) "." BASE64URL(payload) "." BASE64URL(signature)`. We are
not their audience and hold no key, so the bot only reads `sub`, `exp` and `aud` from the
payload. That needs base64url and JSON, nothing more: PyJWT did the same with
`verify_signature=False`, but importing it loads the `cryptography` package (~9 MB of
resident memory for a check we never make), see bench/README.md (S6).
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any


def _segment(text: str, what: str) -> dict[str, Any]:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        value = json.loads(raw)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ValueError(f"the JWT {what} is not base64url-encoded JSON") from None
    if not isinstance(value, dict):
        raise ValueError(f"the JWT {what} is not a JSON object")
    return value


def unverified_claims(token: str) -> dict[str, Any]:
    """The payload (claims set) of a JWS compact JWT, signature NOT verified.

    Args: token: "<header>.<payload>.<signature>", each part base64url without padding.
    Returns: the claims as a dict (e.g. {"sub": "7656...", "exp": 1733000000, "aud": [...]}).
    Raises: ValueError naming what is wrong (never echoing the token): not three
        dot-separated parts, a part that is not base64url JSON, or a header without "alg".
    """
    parts = token.strip().split(".")
    if len(parts) != 3 or not all(parts[:2]):
        raise ValueError("a JWT has three dot-separated parts (header.payload.signature)")
    if "alg" not in _segment(parts[0], "header"):
        raise ValueError("the JWT header has no \"alg\"")
    return _segment(parts[1], "payload")


__all__ = ["unverified_claims"]
