"""Pages of the ticket list, kept rendered per process and sent again while nothing behind them changed.

A worker's app asks for its queue every few seconds, and nearly always nothing has changed. Rendering a page
of twenty tickets (loading them with their unit, category and assignee, working out what the caller may do,
writing the JSON) costs far more than finding out whether anything changed (see docs/PERFORMANCE.md): the page query
itself, reading for each ticket only its id, its version and when its unit, its first unit, its category and
its assignee last changed (`views.PAGE_KEY`). So each process keeps the pages it sent last and sends one again while:

- the same account, unchanged since (`accounts.updated_at`: role, unit, name), with the same scope where its
  view depends on it (`visibility.scope_in_view`), asks the same query (filters, limit, cursor, coordinates);
- the page query returns the same rows: the same tickets in the same order, none of them changed;
- the clock has not reached a moment that changes a ticket's view (warned, overdue, the reopen window;
  `views.view_changes_at`), nor gone back before the page was rendered.

Everything in a document follows from these; tests/tasks/test_ticket_pages.py changes each of them and sees
the next read change. The cache is one of the app's caches (`kernel.caches`), holds at most
TICKET_PAGE_CACHE_ENTRIES pages (the least recently sent go first; 0 turns it off), and a page that is not in
it is rendered as before.
"""

from collections.abc import Hashable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Response, current_app

from grid.coords import CoordSystem
from kernel.caches import BoundedCache, app_cache
from kernel.clock import utcnow
from kernel.principals import Caller
from tasks.tickets import views
from tasks.tickets.schemas import ticket_document
from tasks.tickets.visibility import Viewer, scope_in_view

CACHE = "ticket_pages"


@dataclass(frozen=True)
class RenderedPage:
    rows: tuple[tuple[Any, ...], ...]  # the page query's rows it was rendered from
    rendered_at: datetime
    fresh_until: datetime | None  # the first moment the clock changes one of its tickets' views
    body: bytes

    def serves(self, rows: tuple[tuple[Any, ...], ...], now: datetime) -> bool:
        in_time = self.rendered_at <= now and (self.fresh_until is None or now < self.fresh_until)
        return in_time and rows == self.rows


def page_cache() -> BoundedCache[Hashable, RenderedPage]:
    """This app's cache, made on first use."""
    return app_cache(CACHE, lambda: BoundedCache(current_app.config["TICKET_PAGE_CACHE_ENTRIES"]))


def ticket_list(
    actor: Caller, filters: views.TicketFilters, *, limit: int, cursor: str | None, coord_system: CoordSystem
) -> Response:
    """A page of the actor's tickets, newest first, as the JSON of TicketPageSchema."""
    viewer = Viewer.of(actor)
    page = views.ticket_page(viewer, filters, limit=limit, cursor=cursor)
    rows = tuple(tuple(row) for row in page.items)
    now = utcnow()
    cache = page_cache()
    key = _request_key(viewer, filters, limit, cursor, coord_system)
    rendered = cache.get(key)
    if rendered is not None and rendered.serves(rows, now):
        cache.hits += 1
        return _response(rendered.body)
    cache.misses += 1
    rendered = _render(viewer, rows, page.next_cursor, now)
    cache.put(key, rendered)
    return _response(rendered.body)


def _render(viewer: Viewer, rows: tuple[tuple[Any, ...], ...], next_cursor: str | None, now: datetime) -> RenderedPage:
    seen = views.views_of(viewer, [row[0] for row in rows], now)
    documents = [ticket_document(view) for view in seen]
    body = current_app.json.response({"items": documents, "next_cursor": next_cursor}).get_data()
    if len(seen) < len(rows):  # a ticket went between the two queries: send what there is, keep nothing
        return RenderedPage(rows, now, now, body)
    changes = (views.view_changes_at(view.ticket, now) for view in seen)
    return RenderedPage(rows, now, min((moment for moment in changes if moment is not None), default=None), body)


def _request_key(
    viewer: Viewer, filters: views.TicketFilters, limit: int, cursor: str | None, system: CoordSystem
) -> Hashable:
    caller = viewer.caller
    return (
        caller.id,
        caller.role,
        caller.updated_at,
        scope_in_view(viewer),
        _hashable(vars(filters).values()),
        limit,
        cursor,
        system,
    )


def _hashable(values: Any) -> tuple[Any, ...]:
    return tuple(tuple(value) if isinstance(value, list | tuple) else value for value in values)


def _response(body: bytes) -> Response:
    return Response(body, mimetype="application/json")
