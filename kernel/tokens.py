"""flask-jwt-extended with one verified decode per token instead of four per request.

The stock manager decodes every token twice without verifying it (claims, then header), so that a key
loader could choose among keys, and then once more verified; after that, `verify_jwt_in_request` parses the
header once more for the callbacks. This service signs with one key, so the verified decode alone is enough:
the unverified passes were a noticeable share of an authenticated read (see docs/PERFORMANCE.md).

A client sends the same access token for its whole lifetime, so a token that verified once is kept with its
claims and header in the app's "verified_tokens" cache (`kernel.caches`, bounded): the same string carries the
same signature under the same key. Its expiry is checked again on every use, and revocation is not cached (that
is the principal query's job). Only `_decode_jwt_from_config` and the header lookup after it change
(flask-jwt-extended is pinned; tests/auth/test_auth_tokens.py covers expired, forged, malformed and revoked
tokens through this path).
"""

import threading
import time
from typing import Any

import flask_jwt_extended.view_decorators
import jwt as pyjwt
from flask import Flask
from flask_jwt_extended import JWTManager
from flask_jwt_extended.config import config
from flask_jwt_extended.tokens import _decode_jwt

from kernel.caches import BoundedCache, app_cache

VERIFIED_TOKENS_KEPT = 4096


Verified = tuple[dict[str, Any], dict[str, Any]]  # a token's claims and header
_unverified_headers = flask_jwt_extended.view_decorators.get_unverified_jwt_headers


def verified_tokens() -> BoundedCache[str, Verified]:
    """This app's tokens that verified, with their claims and header."""
    return app_cache("verified_tokens", _new_verified_tokens)


def _new_verified_tokens() -> BoundedCache[str, Verified]:
    return BoundedCache(VERIFIED_TOKENS_KEPT)


# The token this thread verified last, with its header: verify_jwt_in_request asks for the header of the token it
# has just decoded (the same string), so that lookup needs no parse and no cache.
_last_verified = threading.local()


def headers_of(encoded_token: str) -> dict[str, Any]:
    """A token's header: kept from its verification when it is the token just verified, else parsed as the
    stock lookup does."""
    last = getattr(_last_verified, "token", None)
    if last is not None and last[0] == encoded_token:
        return dict(last[1])
    return _unverified_headers(encoded_token)


class OneKeyJWTManager(JWTManager):
    def init_app(self, app: Flask, add_context_processor: bool = False) -> None:
        super().init_app(app, add_context_processor)
        # verify_jwt_in_request parses the header of the token it has just verified; it asks this module instead.
        flask_jwt_extended.view_decorators.get_unverified_jwt_headers = headers_of

    def _decode_jwt_from_config(self, encoded_token: str, csrf_value: Any = None, allow_expired: bool = False) -> dict:
        if csrf_value is not None or allow_expired:
            return self._verified_decode(encoded_token, csrf_value, allow_expired)
        verified = verified_tokens()
        known = verified.get(encoded_token)
        if known is not None and time.time() < known[0]["exp"] + config.leeway:
            _last_verified.token = (encoded_token, known[1])
            return dict(known[0])
        claims = self._verified_decode(encoded_token, csrf_value, allow_expired)
        if isinstance(claims.get("exp"), int | float):
            known = (dict(claims), pyjwt.get_unverified_header(encoded_token))
            verified.put(encoded_token, known)
            _last_verified.token = (encoded_token, known[1])
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
