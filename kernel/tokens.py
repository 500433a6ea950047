"""flask-jwt-extended with one verified decode per request instead of three.

The stock manager decodes every token twice without verifying it (claims, then header), so that a key
loader could choose among keys, and then once more verified. This service signs with one key, so the
verified decode alone is enough: the unverified passes were about a tenth of an authenticated read.
Only `_decode_jwt_from_config` changes (flask-jwt-extended is pinned; tests/test_auth_tokens.py covers
expired, forged, malformed and revoked tokens through this path).
"""

from typing import Any

import jwt as pyjwt
from flask_jwt_extended import JWTManager
from flask_jwt_extended.config import config
from flask_jwt_extended.tokens import _decode_jwt


class OneKeyJWTManager(JWTManager):
    def _decode_jwt_from_config(self, encoded_token: str, csrf_value: Any = None, allow_expired: bool = False) -> dict:
        options = {
            "algorithms": config.decode_algorithms,
            "audience": config.decode_audience,
            "csrf_value": csrf_value,
            "encoded_token": encoded_token,
            "identity_claim_key": config.identity_claim_key,
            "issuer": config.decode_issuer,
            "leeway": config.leeway,
            "secret": config.decode_key,
            "verify_aud": config.decode_audience is not None,
            "verify_sub": config.verify_sub,
        }
        try:
            return _decode_jwt(**options, allow_expired=allow_expired)
        except pyjwt.ExpiredSignatureError as expired:
            # What the expired-token callback receives, as the stock manager gives it.
            expired.jwt_header = pyjwt.get_unverified_header(encoded_token)  # type: ignore[attr-defined]
            expired.jwt_data = _decode_jwt(**options, allow_expired=True)  # type: ignore[attr-defined]
            raise
