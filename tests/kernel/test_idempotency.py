"""Idempotency-Key on POSTs: the offline queue may send an action twice; it runs once."""

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from auth.models import Account
from kernel import clock
from kernel.extensions import db
from tests.support.http import assert_error


@pytest.fixture
def admin_headers(make_account, auth):
    return auth(make_account("admin"))


def new_worker(tree, username="queued"):
    return {
        "username": username,
        "display_name": "离线网格员",
        "role": "worker",
        "scope_grid_id": str(tree["C1"].id),
        "password": "offline-queue-2026",
    }


def count_accounts(app, username):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Account).where(Account.username == username))


def test_a_replay_returns_the_first_response_and_changes_nothing(app, client, tree, admin_headers):
    headers = {**admin_headers, "Idempotency-Key": "k-1"}
    first = client.post("/api/v1/users", json=new_worker(tree), headers=headers)
    replay = client.post("/api/v1/users", json=new_worker(tree), headers=headers)
    assert first.status_code == replay.status_code == 201
    assert replay.json == first.json
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert count_accounts(app, "queued") == 1


def test_the_same_key_with_another_body_is_409(client, tree, admin_headers):
    headers = {**admin_headers, "Idempotency-Key": "k-2"}
    client.post("/api/v1/users", json=new_worker(tree), headers=headers)
    response = client.post("/api/v1/users", json=new_worker(tree, "someone-else"), headers=headers)
    assert_error(response, 409, "idempotency_key_reused")


def test_without_a_key_a_second_post_runs_again(client, tree, admin_headers):
    client.post("/api/v1/users", json=new_worker(tree), headers=admin_headers)
    response = client.post("/api/v1/users", json=new_worker(tree), headers=admin_headers)
    assert_error(response, 409, "conflict")


def test_keys_belong_to_one_account(app, client, tree, make_account, auth):
    first_admin, second_admin = make_account("admin"), make_account("admin")
    client.post("/api/v1/users", json=new_worker(tree, "one"), headers={**auth(first_admin), "Idempotency-Key": "k"})
    response = client.post(
        "/api/v1/users", json=new_worker(tree, "two"), headers={**auth(second_admin), "Idempotency-Key": "k"}
    )
    assert response.status_code == 201
    assert count_accounts(app, "two") == 1


def test_a_failed_request_is_not_remembered(app, client, tree, admin_headers):
    headers = {**admin_headers, "Idempotency-Key": "k-3"}
    body = {**new_worker(tree), "scope_grid_id": "987654"}
    assert client.post("/api/v1/users", json=body, headers=headers).status_code == 422
    body["scope_grid_id"] = str(tree["C1"].id)
    # A different body after a failure: the key was not stored, so this simply runs.
    assert client.post("/api/v1/users", json=body, headers=headers).status_code == 201


@pytest.mark.parametrize("key", ["", "x" * 256, "ключ"])
def test_a_malformed_key_is_400(client, tree, admin_headers, key):
    response = client.post("/api/v1/users", json=new_worker(tree), headers={**admin_headers, "Idempotency-Key": key})
    assert_error(response, 400, "bad_request")


@pytest.mark.slow
def test_two_requests_with_one_key_at_the_same_moment_run_the_work_once(app, tree, admin_headers):
    barrier = threading.Barrier(4)
    responses = []

    def send():
        with app.test_client() as own_client:
            barrier.wait()
            responses.append(
                own_client.post(
                    "/api/v1/users", json=new_worker(tree), headers={**admin_headers, "Idempotency-Key": "race"}
                )
            )

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [r.status_code for r in responses] == [201] * 4
    assert len({r.get_data() for r in responses}) == 1
    assert count_accounts(app, "queued") == 1


def test_purge_removes_keys_older_than_a_day_and_keeps_recent_ones(app, client, tree, admin_headers):
    client.post("/api/v1/users", json=new_worker(tree, "old"), headers={**admin_headers, "Idempotency-Key": "old"})
    clock.travel(timedelta(hours=23))
    client.post("/api/v1/users", json=new_worker(tree, "new"), headers={**admin_headers, "Idempotency-Key": "new"})
    clock.travel(timedelta(hours=25))
    result = app.test_cli_runner().invoke(args=["purge-idempotency-keys"])
    assert result.exit_code == 0, result.output
    assert "purged 1" in result.output
    # The purged key may run again (a new account name proves it ran); the kept one still replays.
    again = client.post(
        "/api/v1/users", json=new_worker(tree, "new"), headers={**admin_headers, "Idempotency-Key": "new"}
    )
    assert again.headers.get("Idempotent-Replayed") == "true"
