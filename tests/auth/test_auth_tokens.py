"""Forged, tampered, expired and orphaned tokens: always 401 in the one error shape, never 422 or 500.

Each forgery is tried as an access token on GET /auth/me and as a refresh token on POST /auth/refresh.
"""

import base64
import json
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import jwt as pyjwt
import pytest
from flask import Flask
from flask_jwt_extended import create_access_token, create_refresh_token, decode_token
from sqlalchemy import delete

from auth.models import Account, LoginSession
from kernel.extensions import db
from tests.support.http import assert_error, bearer

ME = "/api/v1/auth/me"
REFRESH = "/api/v1/auth/refresh"
OTHER_KEY = "another-key-long-enough-even-for-hs512-0123456789abcdefghijklmnopqrstuvwxyz"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def claims_of(token: str) -> dict[str, Any]:
    return json.loads(unb64(token.split(".")[1]))


def with_payload(token: str, **changes: Any) -> str:
    """The token with its payload changed and its original signature kept."""
    header, _, signature = token.split(".")
    payload = {**claims_of(token), **changes}
    return ".".join([header, b64(json.dumps(payload).encode()), signature])


def unsigned(token: str) -> str:
    header = b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"{header}.{token.split('.')[1]}."


def create(kind: str, identity: str, **options: Any) -> str:
    maker = create_access_token if kind == "access" else create_refresh_token
    return maker(identity, **options)


class Forgery:
    """What a client holding a real token of `kind` for `account` could send instead."""

    def __init__(self, app: Flask, account: Account, other: Account, token: str, kind: str) -> None:
        self.app, self.account, self.other, self.token, self.kind = app, account, other, token, kind
        self.sid = claims_of(token)["sid"]

    def sign(self, **options: Any) -> str:
        """A token made with the app's own key (a leaked key or a bug), for claim checks."""
        with self.app.app_context():
            return create(self.kind, options.pop("identity", str(self.account.id)), **options)


def authorization(value: str) -> dict[str, str]:
    return {"Authorization": value}


FORGERIES: dict[str, Callable[[Forgery], dict[str, str]]] = {
    "no header": lambda f: {},
    "empty header": lambda f: authorization(""),
    "Bearer without a token": lambda f: authorization("Bearer"),
    "Bearer with garbage": lambda f: bearer("garbage"),
    "Bearer with three garbage segments": lambda f: bearer("a.b.c"),
    "Basic credentials": lambda f: authorization("Basic " + b64(b"zhang.wei:correct-horse-battery")),
    "the token without a scheme": lambda f: authorization(f.token),
    "header alg none, no signature": lambda f: bearer(unsigned(f.token)),
    "header alg none, signature kept": lambda f: bearer(unsigned(f.token) + f.token.split(".")[2]),
    "signed with another key": lambda f: bearer(pyjwt.encode(claims_of(f.token), OTHER_KEY, algorithm="HS256")),
    "HS512 with another key": lambda f: bearer(pyjwt.encode(claims_of(f.token), OTHER_KEY, algorithm="HS512")),
    "role raised in the payload": lambda f: bearer(with_payload(f.token, role="admin")),
    "sub changed in the payload": lambda f: bearer(with_payload(f.token, sub=str(f.other.id))),
    "exp extended in the payload": lambda f: bearer(with_payload(f.token, exp=claims_of(f.token)["exp"] + 86400)),
    "signature truncated": lambda f: bearer(f.token[:-4]),
    "expired": lambda f: bearer(f.sign(additional_claims={"sid": f.sid}, expires_delta=timedelta(seconds=-10))),
    "not valid yet": lambda f: bearer(
        pyjwt.encode(
            {**claims_of(f.token), "nbf": claims_of(f.token)["iat"] + 3600},
            f.app.config["JWT_SECRET_KEY"],
            algorithm="HS256",
        )
    ),
    "no sid claim": lambda f: bearer(f.sign()),
    "unknown sid": lambda f: bearer(f.sign(additional_claims={"sid": "0" * 32})),
    "sid with a NUL character": lambda f: bearer(f.sign(additional_claims={"sid": f.sid[:-1] + "\x00"})),
    "sid far too long": lambda f: bearer(f.sign(additional_claims={"sid": f.sid * 100})),
    "sid not a string": lambda f: bearer(f.sign(additional_claims={"sid": 12345})),
    "sid of another account's session": lambda f: bearer(
        f.sign(identity=str(f.other.id), additional_claims={"sid": f.sid})
    ),
    "sub not a number": lambda f: bearer(f.sign(identity="admin", additional_claims={"sid": f.sid})),
    "sub out of every integer range": lambda f: bearer(f.sign(identity="9" * 40, additional_claims={"sid": f.sid})),
    "sub a superscript digit": lambda f: bearer(f.sign(identity="\u00b2", additional_claims={"sid": f.sid})),
    "sub in Arabic-Indic digits": lambda f: bearer(f.sign(identity="\u0661", additional_claims={"sid": f.sid})),
    "no sub claim": lambda f: bearer(
        pyjwt.encode(
            {k: v for k, v in claims_of(f.token).items() if k != "sub"},
            f.app.config["JWT_SECRET_KEY"],
            algorithm="HS256",
        )
    ),
    "a JSON array as payload": lambda f: bearer(
        ".".join([f.token.split(".")[0], b64(b"[1, 2]"), f.token.split(".")[2]])
    ),
    "two bearer tokens": lambda f: authorization(f"Bearer {f.token} {f.token}"),
}


@pytest.fixture
def forgery(app, make_account, tokens_for) -> Callable[[str], Forgery]:
    account = make_account("admin", username="root")
    other = make_account("admin", username="other")

    def make(kind: str) -> Forgery:
        return Forgery(app, account, other, tokens_for(account)[kind], kind)

    return make


def send(client: Any, kind: str, headers: dict[str, str]) -> Any:
    if kind == "access":
        return client.get(ME, headers=headers)
    return client.post(REFRESH, headers=headers)


@pytest.mark.parametrize("kind", ["access", "refresh"])
@pytest.mark.parametrize("name", list(FORGERIES))
def test_a_forged_or_broken_token_is_401_in_the_one_error_shape(client, forgery, kind, name):
    forged = forgery(kind)

    response = send(client, kind, FORGERIES[name](forged))

    assert_error(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("kind", ["access", "refresh"])
def test_the_genuine_token_of_those_forgeries_works(client, forgery, kind):
    """The control for the forgeries above: the session they start from is alive."""
    forged = forgery(kind)

    assert send(client, kind, bearer(forged.token)).status_code == 200


@pytest.mark.parametrize("kind", ["access", "refresh"])
def test_a_token_of_a_deleted_session_is_401(client, forgery, kind, ctx):
    forged = forgery(kind)
    if kind == "access":  # it worked a moment ago (and its verified decode is remembered)
        assert send(client, kind, bearer(forged.token)).status_code == 200
    db.session.execute(delete(LoginSession).where(LoginSession.id == forged.sid))
    db.session.commit()

    assert_error(send(client, kind, bearer(forged.token)), 401, "unauthorized")


@pytest.mark.parametrize("kind", ["access", "refresh"])
def test_a_token_of_a_deleted_account_is_401(client, forgery, kind, ctx):
    forged = forgery(kind)
    db.session.delete(db.session.get(Account, forged.account.id))
    db.session.commit()

    assert_error(send(client, kind, bearer(forged.token)), 401, "unauthorized")


def test_an_access_token_that_worked_is_401_once_it_expires(client, forgery):
    """A verified token is remembered per process, but its expiry is checked on every use."""
    forged = forgery("access")
    # exp is a whole second (the signing time plus the delta, rounded down): 3 s leaves the first use at least 2
    # seconds however slow the machine, and the test then waits for the token's own exp, not a guess at it.
    token = forged.sign(additional_claims={"sid": forged.sid}, expires_delta=timedelta(seconds=3))
    assert send(client, "access", bearer(token)).status_code == 200

    time.sleep(max(0.0, claims_of(token)["exp"] - time.time()) + 0.1)

    error = assert_error(send(client, "access", bearer(token)), 401, "unauthorized")
    assert "expired" in error["message"]


def test_a_refresh_token_expired_by_the_clock_is_401(client, forgery):
    forged = forgery("refresh")
    with forged.app.app_context():
        expired = create_refresh_token(
            str(forged.account.id),
            additional_claims={"sid": forged.sid, "jti": claims_of(forged.token)["jti"]},
            expires_delta=timedelta(seconds=-10),
        )

    error = assert_error(send(client, "refresh", bearer(expired)), 401, "unauthorized")

    assert "expired" in error["message"]


def test_a_refresh_token_not_issued_by_the_app_is_401(client, forgery):
    """A refresh JWT with a real session but a jti the app never stored (a leaked signing key)."""
    forged = forgery("refresh")

    response = send(client, "refresh", bearer(forged.sign(additional_claims={"sid": forged.sid})))

    assert_error(response, 401, "unauthorized")


def test_a_forged_admin_role_claim_gives_a_worker_no_admin_rights(client, make_account, tokens_for, tree, app):
    """The role claim is informational: a token minted with role=admin (leaked key) is still a worker's."""
    worker = make_account("worker", unit=tree["C1"])
    sid = claims_of(tokens_for(worker)["access"])["sid"]
    with app.app_context():
        token = create_access_token(str(worker.id), additional_claims={"sid": sid, "role": "admin"})

    assert_error(client.get("/api/v1/users", headers=bearer(token)), 403, "forbidden")


def test_access_tokens_are_signed_with_hs256_and_carry_the_session(app, forgery):
    forged = forgery("access")

    with app.app_context():
        claims = decode_token(forged.token)
    header = json.loads(unb64(forged.token.split(".")[0]))

    assert header["alg"] == "HS256"
    assert claims["type"] == "access"
    assert claims["sub"] == str(forged.account.id)
    assert claims["exp"] - claims["iat"] == 900
    assert isinstance(claims["sid"], str) and claims["sid"]
