"""Authentication for every protected view: a valid access token, an active account, a role.

The auth context teaches flask-jwt-extended how to load the caller (one indexed query that also
checks revocation); this module only asks for it, so the kernel imports no context.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, Response, g, request
from flask_jwt_extended import JWTManager, current_user, verify_jwt_in_request

from kernel.api import document_responses, document_security
from kernel.errors import ForbiddenError, error_response
from kernel.i18n import _
from kernel.idempotency import run_idempotently
from kernel.names import role as role_name
from kernel.principals import Caller

F = TypeVar("F", bound=Callable[..., Any])


def requires_role(*roles: str) -> Callable[[F], F]:
    """401 without a valid access token, 403 for other roles; then runs the view (idempotently)."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            account = authenticate()
            if roles and account.role not in roles:
                raise ForbiddenError(
                    _("Your role may not do this."),
                    {"role": [_("one of: %(roles)s", roles=_(", ").join(role_name(role) for role in roles))]},
                )
            return run_idempotently(account.id, view, *args, **kwargs)

        wrapper.honours_idempotency_key = True  # type: ignore[attr-defined]
        document_security(wrapper)
        return document_responses(wrapper, 401, 403)  # type: ignore[return-value]

    return decorator


requires_auth = requires_role()


def authenticate() -> Caller:
    """The caller (`auth.principal.Principal`, loaded by the token check); raises the token errors (401) otherwise."""
    verify_jwt_in_request()
    principal: Caller = current_user
    g.account_id = principal.id
    return principal


def current_principal() -> Caller:
    """The caller of this request (after `requires_role`): id, role and scope, enough to authorize."""
    return current_user._get_current_object()


def current_account() -> Any:
    """The caller's account entity, for a service that changes or shows it (a query the first time)."""
    return current_user.entity()


PRIVATE_BLUEPRINTS = frozenset({"auth"})  # logins, refreshes and the caller's own account: tokens and personal data


def register_cache_policy(app: Flask) -> None:
    """What an authenticated caller receives (or a login's tokens) is never stored by a browser or a proxy:
    `Cache-Control: no-store`, unless the view chose its own caching (a photo: private, by its content hash)."""

    @app.after_request
    def forbid_storing(response: Response) -> Response:
        # Any Authorization header counts (a malformed one too): werkzeug would parse it, and raise inside to say
        # when there is none.
        private = g.get("account_id") is not None or "HTTP_AUTHORIZATION" in request.environ
        if (private or request.blueprint in PRIVATE_BLUEPRINTS) and not has_header(response, "cache-control"):
            response.headers.add("Cache-Control", "no-store")
        return response


def has_header(response: Response, lowercase_name: str) -> bool:
    """`name in response.headers` without its cost: werkzeug answers a missing name by raising (and building) an
    HTTP exception, which took longer than the rest of this hook (docs/PERFORMANCE.md, "Kernel hooks")."""
    return any(key.lower() == lowercase_name for key, _ in response.headers)


def register_token_error_loaders(jwt: JWTManager) -> None:
    """Every token problem is 401 in the one error shape (flask-jwt-extended says 422 by default)."""

    def unauthorized(message: str) -> Response:
        response = error_response(401, "unauthorized", message)
        response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
        return response

    jwt.unauthorized_loader(lambda reason: unauthorized(_("Authentication required: send a bearer token.")))
    jwt.invalid_token_loader(lambda reason: unauthorized(_("The token is not valid.")))
    jwt.expired_token_loader(lambda header, payload: unauthorized(_("The token has expired.")))
    jwt.revoked_token_loader(lambda header, payload: unauthorized(_("The token has been revoked.")))
    jwt.needs_fresh_token_loader(lambda header, payload: unauthorized(_("A fresh login is required.")))
    jwt.token_verification_failed_loader(lambda header, payload: unauthorized(_("The token is not valid.")))
    jwt.user_lookup_error_loader(lambda header, payload: unauthorized(_("The account is not active.")))
