"""Ticket-list pages are sent again from the process's cache only while nothing behind them changed.

Each test reads a list twice around one kind of change (see tasks.tickets.pages for what a page depends on) and
checks that the second read shows the change, and that an unchanged list is indeed served from the cache.
"""

import re
from datetime import timedelta

from flask import Flask

from kernel import clock
from kernel.caches import EXTENSION as CACHES
from kernel.caches import BoundedCache
from tasks.tickets.pages import CACHE
from tests.support.http import assert_error
from tests.support.statements import statements_sent
from tests.support.tasks import RESIDENT_PHONE

QUEUE = "/api/v1/tickets?assignee=me"


def read(world, who="worker", path=QUEUE):
    response = world.client.get(path, headers=world.headers[who])
    assert response.status_code == 200, response.get_data(as_text=True)
    return response


def items(world, who="worker", path=QUEUE):
    return read(world, who, path).get_json()["items"]


def hits(app: Flask) -> int:
    return app.extensions[CACHES][CACHE].hits


def only(world, who="worker", path=QUEUE):
    (ticket,) = items(world, who, path)
    return ticket


def test_an_unchanged_queue_is_sent_again_from_the_cache(world, app):
    for _ in range(3):
        world.in_progress()
    first = read(world)
    second = read(world)
    assert hits(app) == 1
    assert second.get_data() == first.get_data() and second.headers["ETag"] == first.headers["ETag"]
    assert [ticket["status"] for ticket in second.get_json()["items"]] == ["in_progress"] * 3
    again = world.client.get(QUEUE, headers={**world.headers["worker"], "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304


def use_cache_of(app: Flask, monkeypatch, entries: int) -> None:
    """From now on in this test, a cache of this many pages (0: none); the setting comes back after it."""
    monkeypatch.setitem(app.config, "TICKET_PAGE_CACHE_ENTRIES", entries)
    # A fresh cache of that size, undone with the setting: a later test must not inherit a cache of 0 pages.
    monkeypatch.setitem(app.extensions.setdefault(CACHES, {}), CACHE, BoundedCache(entries))


def test_a_cached_page_is_the_page_rendered_afresh(world, app, monkeypatch):
    for _ in range(3):
        world.in_progress()
    cached = [read(world).get_data() for _ in range(2)]
    use_cache_of(app, monkeypatch, 0)
    fresh = read(world).get_data()
    assert cached == [fresh, fresh]


def test_an_action_on_a_listed_ticket_shows_at_once(world):
    ticket = world.ticket()
    world.act("supervisor", ticket, "dispatch", assignee_id=world.id_of("worker"))
    before = only(world)
    assert before["status"] == "assigned" and "accept" in before["allowed_actions"]
    world.act("worker", ticket, "accept")
    after = only(world)
    assert after["status"] == "in_progress" and "resolve" in after["allowed_actions"]
    world.act("supervisor", ticket, "urge", note="居民再次来电")
    assert only(world)["urge_count"] == 1


def test_tickets_joining_and_leaving_the_queue_show_at_once(world):
    first = world.in_progress()
    assert [t["id"] for t in items(world)] == [first["id"]]
    second = world.in_progress()
    assert [t["id"] for t in items(world)] == [second["id"], first["id"]]
    world.act("worker", first, "escalate", reason="需社区协调")
    assert [t["id"] for t in items(world)] == [second["id"]]


def test_renaming_the_category_unit_or_assignee_shows_at_once(world):
    ticket = world.in_progress()
    headers = world.headers["admin"]
    supervisors_list = f"/api/v1/tickets?grid_id={world.tree['G1a'].id}"
    assert only(world, "supervisor", supervisors_list)["assignee"]["display_name"] != "王师傅"
    renamed = world.client.patch(
        f"/api/v1/users/{world.id_of('worker')}", json={"display_name": "王师傅"}, headers=headers
    )
    assert renamed.status_code == 200, renamed.get_json()
    assert only(world, "supervisor", supervisors_list)["assignee"]["display_name"] == "王师傅"
    code = ticket["category"]["code"]
    renamed = world.client.patch(f"/api/v1/categories/{code}", json={"name": "生活垃圾（改名）"}, headers=headers)
    assert renamed.status_code == 200, renamed.get_json()
    assert only(world, "supervisor", supervisors_list)["category"]["name"] == "生活垃圾（改名）"
    renamed = world.client.patch(f"/api/v1/grids/{world.tree['G1a'].id}", json={"name": "新华一网格"}, headers=headers)
    assert renamed.status_code == 200, renamed.get_json()
    assert only(world, "supervisor", supervisors_list)["grid"]["name"] == "新华一网格"
    assert only(world)["grid"]["name"] == "新华一网格"


def test_the_clock_turns_a_cached_ticket_warned_then_overdue_and_back(world):
    world.in_progress()  # CITY.GARBAGE: 24 h to resolve, warned at 80 %
    assert (only(world)["warned"], only(world)["overdue"]) == (False, False)
    clock.travel(timedelta(hours=20))
    assert (only(world)["warned"], only(world)["overdue"]) == (True, False)
    clock.travel(timedelta(hours=25))
    assert (only(world)["warned"], only(world)["overdue"]) == (False, True)
    clock.travel(timedelta(0))  # a clock set back must not be served a page rendered later
    assert (only(world)["warned"], only(world)["overdue"]) == (False, False)


def test_the_reopen_window_closing_shows_on_a_cached_page(world, app):
    ticket = world.resolved()
    world.act("supervisor", ticket, "close")
    supervisors_list = f"/api/v1/tickets?grid_id={world.tree['G1a'].id}"
    assert "reopen" in only(world, "supervisor", supervisors_list)["allowed_actions"]
    assert "reopen" in only(world, "supervisor", supervisors_list)["allowed_actions"]
    clock.travel(timedelta(days=app.config["TICKET_REOPEN_DAYS"], seconds=1))
    assert "reopen" not in only(world, "supervisor", supervisors_list)["allowed_actions"]


def test_accounts_asking_the_same_query_each_get_their_own_view(world):
    world.in_progress()
    cell_list = f"/api/v1/tickets?grid_id={world.tree['G1a'].id}"
    assert only(world, "worker", cell_list)["reporter"]["phone"] == RESIDENT_PHONE
    assert only(world, "community_supervisor", cell_list)["reporter"]["phone"] == "139****5678"
    assert "resolve" in only(world, "worker", cell_list)["allowed_actions"]
    assert "resolve" not in only(world, "community_supervisor", cell_list)["allowed_actions"]
    assert only(world, "worker", cell_list)["reporter"]["phone"] == RESIDENT_PHONE


def test_two_workers_reading_the_same_tickets_each_get_their_own_view(world, make_account, auth):
    # Two workers of cell G1a: the one handling the ticket and a colleague who sees it by scope.
    colleague = auth(make_account("worker", unit=world.tree["C1"], cells=[world.tree["G1a"]]))
    ticket = world.in_progress()
    handler = only(world, "worker", "/api/v1/tickets")
    response = world.client.get("/api/v1/tickets", headers=colleague)
    (neighbour,) = response.get_json()["items"]
    assert handler["id"] == neighbour["id"] == ticket["id"]
    assert handler["reporter"]["phone"] == RESIDENT_PHONE and "resolve" in handler["allowed_actions"]
    assert neighbour["reporter"]["phone"] == "139****5678" and neighbour["allowed_actions"] == []


def test_pages_of_one_list_and_their_coordinates_are_kept_apart(world):
    location = {"lat": 32.99, "lng": 112.53, "coord_system": "wgs84"}
    for _ in range(3):
        world.in_progress(location=location)
    first = read(world, path=QUEUE + "&limit=2").get_json()
    rest = read(world, path=f"{QUEUE}&limit=2&cursor={first['next_cursor']}").get_json()
    assert len(first["items"]) == 2 and len(rest["items"]) == 1 and rest["next_cursor"] is None
    assert read(world, path=QUEUE + "&limit=2").get_json() == first
    gcj = only(world, path=f"{QUEUE}&limit=1&coord_system=gcj02")["location"]
    wgs = only(world, path=f"{QUEUE}&limit=1")["location"]
    assert gcj["coord_system"] == "gcj02" and wgs["coord_system"] == "wgs84" and gcj["lat"] != wgs["lat"]


def test_the_cache_keeps_at_most_its_entries_and_can_be_off(world, app, monkeypatch):
    world.in_progress()
    use_cache_of(app, monkeypatch, 2)
    for limit in (1, 2, 3):
        assert len(items(world, path=f"{QUEUE}&limit={limit}")) == 1
    assert len(app.extensions[CACHES][CACHE]) == 2
    use_cache_of(app, monkeypatch, 0)
    assert items(world) == items(world)
    assert len(app.extensions[CACHES][CACHE]) == 0 and hits(app) == 0


def test_the_queue_refuses_a_tampered_cursor_or_one_from_another_list(world):
    for _ in range(2):
        world.in_progress()
    cursor = read(world, path=QUEUE + "&limit=1").get_json()["next_cursor"]
    others = read(world, path="/api/v1/tickets?limit=1").get_json()["next_cursor"]
    tampered = ("A" if cursor[0] != "A" else "B") + cursor[1:]
    for bad in (tampered, others):
        response = world.client.get(f"{QUEUE}&limit=1&cursor={bad}", headers=world.headers["worker"])
        assert_error(response, 400, "bad_request")


def test_renaming_the_first_unit_of_an_escalated_ticket_shows_at_once(world, app):
    ticket = world.ticket("supervisor")
    world.act("community_supervisor", ticket, "escalate", reason="需街道协调")
    followed = "/api/v1/tickets?followed=true"
    assert only(world, "community_supervisor", followed)["first_unit"]["name"] != "新华一网格"
    before = hits(app)
    only(world, "community_supervisor", followed)
    assert hits(app) == before + 1  # unchanged: from the cache
    renamed = world.client.patch(
        f"/api/v1/grids/{world.tree['G1a'].id}", json={"name": "新华一网格"}, headers=world.headers["admin"]
    )
    assert renamed.status_code == 200, renamed.get_json()
    seen = only(world, "community_supervisor", followed)
    assert (seen["first_unit"]["name"], seen["grid"]["name"]) == ("新华一网格", world.tree["S1"].name)


def test_a_cell_workers_list_offers_take_on_pending_tickets_of_their_cells_only(world):
    mine = world.ticket("supervisor")
    world.ticket("supervisor", grid_id=str(world.tree["G1b"].id))
    listed = items(world, "worker", "/api/v1/tickets")
    assert [(ticket["id"], ticket["allowed_actions"]) for ticket in listed] == [(mine["id"], ["take"])]
    world.act("worker", mine, "take")
    assert items(world, "worker", "/api/v1/tickets")[0]["allowed_actions"] == [
        "return",
        "escalate",
        "request_extension",
        "suspend",
        "resolve",
    ]


def test_the_queues_page_size_is_written_into_its_statement(world, app):
    """PostgreSQL plans a prepared statement whose LIMIT is a parameter afresh on every execution (it cannot cost
    a generic plan without the number): the queue's statements carry their page size as text."""
    for _ in range(3):
        world.in_progress()
    with statements_sent(app) as seen:
        first = read(world, path=QUEUE + "&limit=2").get_json()
        read(world, path=f"{QUEUE}&limit=2&cursor={first['next_cursor']}")
    pages = [statement for statement in seen if "FROM tickets" in statement and "ORDER BY" in statement]
    assert len(pages) == 2 and all(re.search(r"LIMIT 3\b", statement) for statement in pages), pages
