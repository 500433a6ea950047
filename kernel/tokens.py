"""flask-jwt-extended with one verified decode per token instead of three per request.

The stock manager decodes every token twice without verifying it (claims, then header), so that a key
loader could choose among keys, and then once more verified. This service signs with one key, so the
verified decode alone is enough: the unverified passes were a noticeable share of an authenticated read
(see docs/PERFORMANCE.md).

A client sends the same access token for its whole lifetime, so a token that verified once is kept with its
claims in the app's "verified_tokens" cache (`kernel.caches`, bounded): the same string carries the same
signature under the same key. Its expiry is checked again on every use, and revocation is not cached (that is
the principal query's job). Only `_decode_jwt_from_config` changes (flask-jwt-extended is pinned;
tests/auth/test_auth_tokens.py covers expired, forged, malformed and revoked tokens through this path).
"""

import time
from typing import Any

import jwt as pyjwt
from flask_jwt_extended import JWTManager
from flask_jwt_extended.config import config
from flask_jwt_extended.tokens import _decode_jwt

from kernel.caches import BoundedCache, app_cache

VERIFIED_TOKENS_KEPT = 4096


def verified_tokens() -> BoundedCache[str, dict[str, Any]]:
    """This app's tokens that verified, with their claims."""
    return app_cache("verified_tokens", _new_verified_tokens)


def _new_verified_tokens() -> BoundedCache[str, dict[str, Any]]:
    return BoundedCache(VERIFIED_TOKENS_KEPT)


class OneKeyJWTManager(JWTManager):
    def _decode_jwt_from_config(self, encoded_token: str, csrf_value: Any = None, allow_expired: bool = False) -> dict:
        if csrf_value is not None or allow_expired:
            return self._verified_decode(encoded_token, csrf_value, allow_expired)
        verified = verified_tokens()
        claims = verified.get(encoded_token)
        if claims is not None and time.time() < claims["exp"] + config.leeway:
            return dict(claims)
        claims = self._verified_decode(encoded_token, csrf_value, allow_expired)
        if isinstance(claims.get("exp"), int | float):
            verified.put(encoded_token, dict(claims))
        return claims

    def _verified_decode(self, encoded_token: str, csrf_value: Any, allow_expired: bool) -> dict:
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
