"""Responses that carry personal data or credentials are never stored by a browser or proxy (issue 20 §6)."""

import pytest

from tests.support.accounts import PASSWORD


@pytest.mark.parametrize("path", ["/api/v1/auth/me", "/api/v1/users", "/api/v1/grids", "/api/v1/tickets"])
def test_every_authenticated_response_says_no_store(client, make_account, auth, path):
    response = client.get(path, headers=auth(make_account("admin")))
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"


def test_an_authenticated_error_says_no_store_too(client, make_account, auth):
    response = client.get("/api/v1/users/999999", headers=auth(make_account("admin")))
    assert response.status_code == 404
    assert response.headers["Cache-Control"] == "no-store"


def test_the_tokens_of_a_login_and_a_refresh_are_never_stored(client, make_account):
    account = make_account("worker")
    login = client.post("/api/v1/auth/login", json={"username": account.username, "password": PASSWORD})
    assert login.status_code == 200 and login.headers["Cache-Control"] == "no-store"
    refresh = client.post(
        "/api/v1/auth/refresh", headers={"Authorization": f"Bearer {login.get_json()['refresh_token']}"}
    )
    assert refresh.status_code == 200 and refresh.headers["Cache-Control"] == "no-store"


def test_public_documents_keep_their_own_caching(client):
    assert "no-store" not in client.get("/healthz").headers.get("Cache-Control", "")
    assert "no-store" not in client.get("/api/v1/openapi.json").headers.get("Cache-Control", "")
