"""The console's login: the access token in the body, the refresh token in an httpOnly cookie (auth.browser)."""

from tests.support.accounts import PASSWORD
from tests.support.http import assert_error, bearer

REFRESH_PATH = "/api/v1/auth/browser/"


def browser_login(client, account):
    return client.post("/api/v1/auth/browser/login", json={"username": account.username, "password": PASSWORD})


def csrf_header(client):
    return {"X-CSRF-TOKEN": client.get_cookie("csrf_refresh_token", path="/console").value}


def test_a_browser_login_keeps_the_refresh_token_out_of_reach_of_scripts(client, make_account):
    account = make_account("supervisor")
    response = browser_login(client, account)
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"access_token", "token_type", "expires_in", "user"}
    assert client.get("/api/v1/auth/me", headers=bearer(body["access_token"])).get_json()["id"] == str(account.id)
    cookies = {header.split("=", 1)[0]: header for header in response.headers.getlist("Set-Cookie")}
    refresh = cookies["refresh_token_cookie"]
    assert "HttpOnly" in refresh and "SameSite=Strict" in refresh and f"Path={REFRESH_PATH}" in refresh
    assert "Max-Age=2592000" in refresh  # as long as the refresh token lives (30 days)
    csrf = cookies["csrf_refresh_token"]
    assert "HttpOnly" not in csrf and "Path=/console" in csrf and "SameSite=Strict" in csrf


def test_the_refresh_cookie_gives_a_new_access_token_and_rotates(client, make_account):
    account = make_account("supervisor")
    browser_login(client, account)
    first_cookie = client.get_cookie("refresh_token_cookie", path=REFRESH_PATH).value
    response = client.post("/api/v1/auth/browser/refresh", headers=csrf_header(client))
    assert response.status_code == 200
    access = response.get_json()["access_token"]
    assert client.get("/api/v1/auth/me", headers=bearer(access)).status_code == 200
    assert client.get_cookie("refresh_token_cookie", path=REFRESH_PATH).value != first_cookie


def test_a_refresh_without_the_csrf_value_or_the_cookie_is_refused(client, make_account):
    account = make_account("supervisor")
    browser_login(client, account)
    assert_error(client.post("/api/v1/auth/browser/refresh"), 401, "unauthorized")
    assert_error(client.post("/api/v1/auth/browser/refresh", headers={"X-CSRF-TOKEN": "forged"}), 401, "unauthorized")
    client.delete_cookie("refresh_token_cookie", path=REFRESH_PATH)
    assert_error(client.post("/api/v1/auth/browser/refresh", headers=csrf_header(client)), 401, "unauthorized")


def test_an_access_token_is_not_accepted_as_the_refresh_cookie(client, make_account):
    account = make_account("supervisor")
    access = browser_login(client, account).get_json()["access_token"]
    csrf = csrf_header(client)
    client.set_cookie("refresh_token_cookie", access, path=REFRESH_PATH)
    assert_error(client.post("/api/v1/auth/browser/refresh", headers=csrf), 401, "unauthorized")


def test_the_api_still_takes_no_token_from_a_cookie(client, make_account):
    account = make_account("supervisor")
    browser_login(client, account)
    refresh = client.get_cookie("refresh_token_cookie", path=REFRESH_PATH).value
    client.set_cookie("access_token_cookie", refresh, path="/")
    assert_error(client.get("/api/v1/auth/me"), 401, "unauthorized")
    assert_error(client.post("/api/v1/auth/refresh", headers=csrf_header(client)), 401, "unauthorized")


def test_a_browser_logout_ends_the_session_and_clears_the_cookies(client, make_account):
    account = make_account("supervisor")
    access = browser_login(client, account).get_json()["access_token"]
    csrf = csrf_header(client)
    response = client.post("/api/v1/auth/browser/logout", headers=csrf)
    assert response.status_code == 204
    assert client.get_cookie("refresh_token_cookie", path=REFRESH_PATH) is None
    assert client.get_cookie("csrf_refresh_token", path="/console") is None
    assert_error(client.get("/api/v1/auth/me", headers=bearer(access)), 401, "unauthorized")


def test_a_wrong_password_sets_no_cookie(client, make_account):
    account = make_account("supervisor")
    response = client.post("/api/v1/auth/browser/login", json={"username": account.username, "password": "nope"})
    assert_error(response, 401, "unauthorized")
    assert response.headers.getlist("Set-Cookie") == []


def test_a_reused_refresh_cookie_past_the_grace_window_ends_the_login(app, client, make_account):
    app.config["REFRESH_REUSE_GRACE_SECONDS"] = 0
    try:
        account = make_account("supervisor")
        browser_login(client, account)
        old_cookie = client.get_cookie("refresh_token_cookie", path=REFRESH_PATH).value
        csrf = csrf_header(client)
        new_access = client.post("/api/v1/auth/browser/refresh", headers=csrf).get_json()["access_token"]
        client.set_cookie("refresh_token_cookie", old_cookie, path=REFRESH_PATH)
        assert_error(client.post("/api/v1/auth/browser/refresh", headers=csrf), 401, "unauthorized")
        assert_error(client.get("/api/v1/auth/me", headers=bearer(new_access)), 401, "unauthorized")
    finally:
        app.config["REFRESH_REUSE_GRACE_SECONDS"] = 60
