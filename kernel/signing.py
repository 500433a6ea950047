"""One signing scheme for both directions: the webhooks we send and the requests integrations push to us.

A signed message carries a timestamp (unix seconds, as text) and `sha256=<hex HMAC-SHA256(secret,
"<timestamp>.<body>")>` over the exact body bytes. Whoever checks a signature compares in constant time
(`verify`, `equal`), so a forger learns nothing from how long a refusal took.

**A secret is stored as it is**, not hashed like an API key: the server must produce (webhooks) or recompute
(integrations) the HMAC, so it needs the secret itself. Encrypting the column with a key from the application's
own configuration would protect only against a leak of the database alone, and that database already holds
residents' full phone numbers and ID numbers in the clear (masked only on the way out): its backups and access
are the real boundary. Encryption would also add a dependency (`cryptography`), a key to rotate and a way to lose
every secret with it. A secret is never serialized after the response that created it, never logged, never put
in an error, and is erased when its owner is deleted.
"""

import hashlib
import hmac
from typing import Final

SIGNATURE_PREFIX: Final = "sha256="
# One key length for webhooks out and integrations in.
SECRET_MIN_LENGTH, SECRET_MAX_LENGTH = 16, 128
# Printable ASCII without spaces: the secret is an HMAC key, and receivers in any language must get the same bytes.
SECRET_PATTERN: Final = r"^[\x21-\x7e]+$"  # noqa: S105 - a pattern, not a secret


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature of `body` at `timestamp`: `sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return SIGNATURE_PREFIX + digest


def verify(secret: str, timestamp: str, body: bytes, given: str) -> bool:
    """Whether `given` is the signature of `body` at `timestamp` under `secret` (compared in constant time)."""
    return equal(given, sign(secret, timestamp, body))


def equal(given: str, expected: str) -> bool:
    """`given == expected` in constant time, for any text a client sends (not only ASCII)."""
    return hmac.compare_digest(given.encode(), expected.encode())
