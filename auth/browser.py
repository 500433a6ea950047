"""Tokens kept the way a browser should keep them (the console at /console).

The access token lives in the page's memory only; the refresh token in an httpOnly, SameSite=Strict cookie that
the browser sends to the `/api/v1/auth/browser/` endpoints alone, so no script can read it. Cross-site requests
are refused twice over: a SameSite=Strict cookie is not sent by them, and flask-jwt-extended's double submit
wants the refresh token's `csrf` claim back in `X-CSRF-TOKEN`, read by the console's pages from a cookie only
they can see (path `/console`). The API's bearer tokens in headers are untouched.
"""

from flask import Response, after_this_request, current_app
from flask_jwt_extended import set_refresh_cookies, unset_refresh_cookies

from auth.tokens import TokenGrant


def keep_refresh_token(grant: TokenGrant) -> TokenGrant:
    """Set the grant's refresh token (and its CSRF cookie) on the response, living as long as the token."""
    lifetime = int(current_app.config["JWT_REFRESH_TOKEN_EXPIRES"].total_seconds())

    @after_this_request
    def set_cookies(response: Response) -> Response:
        set_refresh_cookies(response, grant.refresh_token, max_age=lifetime)
        return response

    return grant


def forget_refresh_token() -> None:
    """Clear both cookies on the response."""

    @after_this_request
    def unset_cookies(response: Response) -> Response:
        unset_refresh_cookies(response)
        return response
