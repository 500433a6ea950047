"""Pages of the ticket list, kept rendered per process and sent again while nothing behind them changed.

A worker's app asks for its queue every few seconds, and nearly always nothing has changed. Rendering a page
of twenty tickets (loading them with their unit, category and assignee, working out what the caller may do,
writing the JSON) costs several times what finding out whether anything changed costs: the page query
itself, reading for each ticket only its id, its version and when its unit, its category and its assignee
last changed (`service.PAGE_KEY`). So each process keeps the pages it sent last and sends one again while:

- the same account, unchanged since (`accounts.updated_at`: role, unit, name), with the same scope where its
  view depends on it (`service.scope_in_view`), asks the same query (filters, limit, cursor, coordinates);
- the page query returns the same rows: the same tickets in the same order, none of them changed;
- the clock has not reached a moment that changes a ticket's view (warned, overdue, the reopen window;
  `service.view_changes_at`), nor gone back before the page was rendered.

Everything in a document follows from these; tests/test_ticket_pages.py changes each of them and sees the
next read change. The cache belongs to the app, holds at most TICKET_PAGE_CACHE_ENTRIES pages (the least
recently sent go first; 0 turns it off), and a page that is not in it is rendered as before.
"""

import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Response, current_app

from grid.coords import CoordSystem
from kernel.clock import utcnow
from kernel.principals import Caller
from tasks import service
from tasks.schemas import ticket_document

EXTENSION = "ticket_pages"


@dataclass(frozen=True)
class RenderedPage:
    rows: tuple[tuple[Any, ...], ...]  # the page query's rows it was rendered from
    rendered_at: datetime
    fresh_until: datetime | None  # the first moment the clock changes one of its tickets' views
    body: bytes

    def serves(self, rows: tuple[tuple[Any, ...], ...], now: datetime) -> bool:
        in_time = self.rendered_at <= now and (self.fresh_until is None or now < self.fresh_until)
        return in_time and rows == self.rows


class PageCache:
    """Rendered pages by request key, least recently sent first out; safe to share between threads."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.hits = self.misses = 0
        self._pages: OrderedDict[Hashable, RenderedPage] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._pages)

    def get(self, key: Hashable) -> RenderedPage | None:
        with self._lock:
            page = self._pages.get(key)
            if page is not None:
                self._pages.move_to_end(key)
            return page

    def put(self, key: Hashable, page: RenderedPage) -> None:
        if self.capacity <= 0:
            return
        with self._lock:
            self._pages[key] = page
            self._pages.move_to_end(key)
            while len(self._pages) > self.capacity:
                self._pages.popitem(last=False)


def page_cache() -> PageCache:
    """This app's cache, made on first use."""
    cache: PageCache | None = current_app.extensions.get(EXTENSION)
    if cache is None:
        cache = current_app.extensions[EXTENSION] = PageCache(current_app.config["TICKET_PAGE_CACHE_ENTRIES"])
    return cache


def ticket_list(
    actor: Caller, filters: service.TicketFilters, *, limit: int, cursor: str | None, coord_system: CoordSystem
) -> Response:
    """A page of the actor's tickets, newest first, as the JSON of TicketPageSchema."""
    viewer = service.Viewer.of(actor)
    page = service.ticket_page(viewer, filters, limit=limit, cursor=cursor)
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


def _render(
    viewer: service.Viewer, rows: tuple[tuple[Any, ...], ...], next_cursor: str | None, now: datetime
) -> RenderedPage:
    views = service.views_of(viewer, [row[0] for row in rows], now)
    documents = [ticket_document(view) for view in views]
    body = current_app.json.response({"items": documents, "next_cursor": next_cursor}).get_data()
    if len(views) < len(rows):  # a ticket went between the two queries: send what there is, keep nothing
        return RenderedPage(rows, now, now, body)
    changes = (service.view_changes_at(view.ticket, now) for view in views)
    return RenderedPage(rows, now, min((moment for moment in changes if moment is not None), default=None), body)


def _request_key(
    viewer: service.Viewer, filters: service.TicketFilters, limit: int, cursor: str | None, system: CoordSystem
) -> Hashable:
    caller = viewer.caller
    return (
        caller.id,
        caller.role,
        caller.updated_at,
        service.scope_in_view(viewer),
        _hashable(vars(filters).values()),
        limit,
        cursor,
        system,
    )


def _hashable(values: Any) -> tuple[Any, ...]:
    return tuple(tuple(value) if isinstance(value, list | tuple) else value for value in values)


def _response(body: bytes) -> Response:
    return Response(body, mimetype="application/json")
