"""One ticket's GET and `/users/{id}` read their row in the token check's own query (`auth.principal.
ReadWithTheToken`) on PostgreSQL, where each query is a round trip (on SQLite apart: cheaper there), with the same
documents and the same refusals either way: a logged-out session or a deactivated caller 401, a row out of the
caller's reach or missing 404."""

import pytest

from auth.models import Account
from kernel.extensions import db
from tests.support.http import assert_error
from tests.support.statements import statements_sent


def _token_check_reads_the_row(app) -> bool:
    with app.app_context():
        return db.engine.dialect.name != "sqlite"


def _reads(app, client, path, headers):
    with statements_sent(app) as seen:
        response = client.get(path, headers=headers)
    return response, seen


def test_one_ticket_is_one_query_with_the_token_check(app, world):
    ticket = world.ticket("worker")
    response, seen = _reads(app, world.client, f"/api/v1/tickets/{ticket['id']}", world.headers["worker"])
    assert response.status_code == 200 and response.get_json() == ticket
    # the token check's query reads the ticket; what else is sent is the viewer's (cells, volunteer areas)
    assert "login_sessions" in seen[0]
    if _token_check_reads_the_row(app):
        assert "tickets" in seen[0] and not [sql for sql in seen[1:] if "FROM tickets" in sql], seen
    else:
        assert len([sql for sql in seen if "FROM tickets" in sql]) == 1, seen
    supervisor, _ = _reads(app, world.client, f"/api/v1/tickets/{ticket['id']}", world.headers["supervisor"])
    assert supervisor.get_json()["id"] == ticket["id"]


def test_a_ticket_out_of_reach_or_missing_is_404_all_the_same(app, world):
    ticket = world.ticket("worker")
    far, _ = _reads(app, world.client, f"/api/v1/tickets/{ticket['id']}", world.headers["far_worker"])
    assert_error(far, 404, "not_found")
    missing, _ = _reads(app, world.client, f"/api/v1/tickets/{int(ticket['id']) + 1000}", world.headers["worker"])
    assert_error(missing, 404, "not_found")


def test_a_user_is_one_query_with_the_token_check(app, world):
    path = f"/api/v1/users/{world.id_of('worker')}"
    response, seen = _reads(app, world.client, path, world.headers["supervisor"])
    assert response.status_code == 200 and response.get_json()["id"] == world.id_of("worker")
    assert len(seen) == (1 if _token_check_reads_the_row(app) else 2), seen
    assert world.client.get(path, headers=world.headers["admin"]).get_json() == response.get_json()


def test_a_user_out_of_reach_or_missing_is_404_all_the_same(app, world):
    far, _ = _reads(app, world.client, f"/api/v1/users/{world.id_of('far_worker')}", world.headers["supervisor"])
    assert_error(far, 404, "not_found")
    missing, _ = _reads(app, world.client, "/api/v1/users/987654321", world.headers["supervisor"])
    assert_error(missing, 404, "not_found")


@pytest.mark.parametrize("what", ["ticket", "user"])
def test_a_logged_out_session_or_a_deactivated_caller_is_refused_by_that_query(app, world, what):
    who = "supervisor"
    if what == "ticket":
        path = f"/api/v1/tickets/{world.ticket(who)['id']}"
    else:
        path = f"/api/v1/users/{world.id_of('worker')}"
    with app.app_context():
        db.session.get(Account, world.accounts[who].id).active = False
        db.session.commit()
    assert_error(world.client.get(path, headers=world.headers[who]), 401, "unauthorized")
    with app.app_context():
        db.session.get(Account, world.accounts[who].id).active = True
        db.session.commit()
    assert world.client.get(path, headers=world.headers[who]).status_code == 200
    world.client.post("/api/v1/auth/logout", headers=world.headers[who])
    assert_error(world.client.get(path, headers=world.headers[who]), 401, "unauthorized")


def test_a_ticket_action_reads_its_ticket_with_the_token_check(app, world):
    ticket = world.ticket("worker")
    with statements_sent(app) as seen:
        urged = world.client.post(
            f"/api/v1/tickets/{ticket['id']}/urge", json={"note": "居民再次来电"}, headers=world.headers["supervisor"]
        )
    assert urged.status_code == 200 and urged.get_json()["urge_count"] == 1
    reads = [sql for sql in seen if sql.lstrip().startswith("SELECT") and "FROM tickets" in sql]
    if _token_check_reads_the_row(app):
        assert "login_sessions" in seen[0] and "tickets" in seen[0] and not reads[1:], seen
    else:
        assert len(reads) == 1 and "login_sessions" not in reads[0], seen
    assert world.get("supervisor", ticket).get_json()["urge_count"] == 1


def test_a_ticket_action_out_of_reach_missing_or_by_a_logged_out_caller_is_refused(app, world):
    ticket = world.ticket("worker")
    body = {"note": "居民再次来电"}
    far = world.client.post(f"/api/v1/tickets/{ticket['id']}/urge", json=body, headers=world.headers["far_supervisor"])
    assert_error(far, 404, "not_found")
    missing = f"/api/v1/tickets/{int(ticket['id']) + 1000}/urge"
    assert_error(world.client.post(missing, json=body, headers=world.headers["supervisor"]), 404, "not_found")
    world.client.post("/api/v1/auth/logout", headers=world.headers["supervisor"])
    path = f"/api/v1/tickets/{ticket['id']}/urge"
    assert_error(world.client.post(path, json=body, headers=world.headers["supervisor"]), 401, "unauthorized")
    assert world.get("worker", ticket).get_json()["urge_count"] == 0
