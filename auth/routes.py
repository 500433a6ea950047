"""HTTP endpoints for login, tokens, the current account and account management."""

from typing import Any

from flask import Flask, request
from flask_jwt_extended import current_user, get_jwt, verify_jwt_in_request

from auth import browser, devices, service
from auth.models import Account
from auth.own import AccountView, OwnAccount, account_read_with_the_token, own_account, reads_own_account_with_the_token
from auth.schemas import (
    BrowserTokenSchema,
    LoginSchema,
    LoginTokenSchema,
    MeSchema,
    PasswordChangeSchema,
    TokenSchema,
    UserCreateSchema,
    UserPageSchema,
    UserQuerySchema,
    UserSchema,
    UserUpdateSchema,
)
from auth.tokens import TokenGrant, register_token_loaders
from kernel.api import Blueprint, document_security, documents
from kernel.etag import checks_if_match
from kernel.extensions import api, jwt
from kernel.pagination import Page, cursor_list
from kernel.principals import Role
from kernel.security import current_account, current_principal, requires_auth, requires_role

auth_blp = Blueprint("auth", __name__, url_prefix="/api/v1/auth", description="Login, tokens and the current account")
users_blp = Blueprint("users", __name__, url_prefix="/api/v1/users", description="Accounts")

MANAGERS = (Role.ADMIN, Role.SUPERVISOR)
DEVICE_TOKEN_PARAMETER = {
    "in": "header",
    "name": devices.HEADER,
    "required": False,
    "description": "The `device_token` an earlier successful login of this account on this device returned: it lets "
    "the login past the address limit and the account lock (the password must still be right).",
    "schema": {"type": "string", "maxLength": devices.MAX_LENGTH},
}


def register(app: Flask) -> None:
    register_token_loaders(jwt)
    api.register_blueprint(auth_blp)
    api.register_blueprint(users_blp)


@auth_blp.route("/login", methods=["POST"])
@auth_blp.arguments(LoginSchema)
@auth_blp.response(200, LoginTokenSchema)
@auth_blp.doc(parameters=[DEVICE_TOKEN_PARAMETER])
@documents(401, 429)
def login(credentials: dict[str, str]) -> TokenGrant:
    """Log in with a username and password; returns an access and a refresh token, and this device's token.

    Past the login brakes (429: too many failures from this address, or for this account) only a login presenting
    the `device_token` of an earlier login of the same account on this device gets in (`X-Device-Token`).
    """
    return service.login(
        credentials["username"],
        credentials["password"],
        address=request.remote_addr or "unknown",
        device_token=request.headers.get(devices.HEADER),
    )


@auth_blp.route("/refresh", methods=["POST"])
@auth_blp.response(200, TokenSchema)
@documents(401)
@document_security
def refresh() -> TokenGrant:
    """Exchange the refresh token (sent as the bearer token) for new tokens; the old one dies.

    A retry with the old token within REFRESH_REUSE_GRACE_SECONDS (60) of the exchange, its successor not yet
    used, gets the same pair again; any other reuse revokes the whole login (401).
    """
    verify_jwt_in_request(refresh=True)
    return service.refresh(current_user.entity(), get_jwt())


@auth_blp.route("/logout", methods=["POST"])
@requires_auth
@auth_blp.response(204)
def logout() -> None:
    """End this session: its access and refresh tokens stop working."""
    service.logout(get_jwt()["sid"])


BROWSER_COOKIES_PARAMETERS = [
    {
        "in": "cookie",
        "name": "refresh_token_cookie",
        "required": True,
        "description": "the refresh token, set httpOnly by the browser login (path `/api/v1/auth/browser/`)",
        "schema": {"type": "string"},
    },
    {
        "in": "header",
        "name": "X-CSRF-TOKEN",
        "required": True,
        "description": "the value of the `csrf_refresh_token` cookie the browser login set (double submit)",
        "schema": {"type": "string"},
    },
]


@auth_blp.route("/browser/login", methods=["POST"])
@auth_blp.arguments(LoginSchema)
@auth_blp.response(200, BrowserTokenSchema)
@documents(401, 429)
def browser_login(credentials: dict[str, str]) -> TokenGrant:
    """Log in from the console: the access token in the body (kept in memory), the refresh token in an httpOnly,
    SameSite=Strict cookie for `/api/v1/auth/browser/` and its CSRF value in a cookie the console can read."""
    grant = service.login(credentials["username"], credentials["password"], address=request.remote_addr or "unknown")
    return browser.keep_refresh_token(grant)


@auth_blp.route("/browser/refresh", methods=["POST"])
@auth_blp.response(200, BrowserTokenSchema)
@auth_blp.doc(parameters=BROWSER_COOKIES_PARAMETERS)
@documents(401)
def browser_refresh() -> TokenGrant:
    """A new access token for the console from its refresh cookie (with `X-CSRF-TOKEN`); the cookie rotates as
    `/auth/refresh` rotates the token (the same grace window and reuse rule)."""
    verify_jwt_in_request(refresh=True, locations=["cookies"])
    return browser.keep_refresh_token(service.refresh(current_user.entity(), get_jwt()))


@auth_blp.route("/browser/logout", methods=["POST"])
@auth_blp.response(204)
@auth_blp.doc(parameters=BROWSER_COOKIES_PARAMETERS)
@documents(401)
def browser_logout() -> None:
    """End the console's session (its access and refresh tokens stop working) and clear its cookies."""
    verify_jwt_in_request(refresh=True, locations=["cookies"])
    service.logout(get_jwt()["sid"])
    browser.forget_refresh_token()


@auth_blp.route("/me", methods=["GET"])
@reads_own_account_with_the_token
@requires_auth
@auth_blp.response(200, MeSchema)
@documents(304)
def me() -> OwnAccount:
    """Who am I: the account, its role and its grid scope."""
    return own_account(current_principal())


@auth_blp.route("/password", methods=["POST"])
@requires_auth
@auth_blp.arguments(PasswordChangeSchema)
@auth_blp.response(204)
@documents(429)
def change_password(data: dict[str, str]) -> None:
    """Change one's own password; every other session of the account ends. Wrong guesses are capped (429)."""
    service.change_password(
        current_account(),
        old_password=data["old_password"],
        new_password=data["new_password"],
        session_id=get_jwt()["sid"],
    )


@users_blp.route("", methods=["GET"])
@requires_role(*MANAGERS)
@users_blp.arguments(UserQuerySchema, location="query")
@cursor_list(service.AccountFilters)
@users_blp.response(200, UserPageSchema)
def list_users(filters: service.AccountFilters, *, limit: int, cursor: str | None) -> Page[Account]:
    """Accounts in the caller's reach; filters `role`, `q` (username or name), `active`."""
    return service.list_accounts(current_principal(), filters, limit=limit, cursor=cursor)


@users_blp.route("", methods=["POST"])
@requires_role(*MANAGERS)
@users_blp.arguments(UserCreateSchema)
@users_blp.response(201, UserSchema)
@documents(409)
def create_user(data: dict[str, Any]) -> Account:
    """Create an account; supervisors create workers and volunteers inside their own subtree."""
    return service.create_account(current_principal(), data)


@users_blp.route("/<id:user_id>", methods=["GET"])
@account_read_with_the_token
@requires_role(*MANAGERS)
@users_blp.response(200, UserSchema)
@documents(304, 404)
def get_user(user_id: int) -> AccountView:
    """One account in the caller's reach."""
    return service.get_account_view(current_principal(), user_id)


@users_blp.route("/<id:user_id>", methods=["PATCH"])
@requires_role(*MANAGERS)
@users_blp.arguments(UserUpdateSchema)
@checks_if_match(lambda user_id: UserSchema().dump(service.get_account(current_principal(), user_id)))
@users_blp.response(200, UserSchema)
@documents(404, 409, 412)
def update_user(changes: dict[str, Any], user_id: int) -> Account:
    """Change an account; `active: false` deactivates it and ends its sessions at once."""
    return service.update_account(current_principal(), user_id, changes)
