"""The per-process caches' home: bounded, least recently used first out, one set per app, emptied together."""

from bootstrap import create_app
from kernel.caches import BoundedCache, app_cache, clear_all


def test_a_bounded_cache_drops_the_least_recently_used_entry_first():
    cache: BoundedCache[str, int] = BoundedCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # "b" is now the least recently used
    cache.put("c", 3)
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (1, None, 3)
    assert len(cache) == 2


def test_a_cache_of_no_capacity_keeps_nothing():
    cache: BoundedCache[str, int] = BoundedCache(0)
    cache.put("a", 1)
    assert cache.get("a") is None and len(cache) == 0


def test_each_app_has_its_own_caches_and_clear_all_empties_them(app):
    other = create_app({**app.config, "TESTING": True})
    with app.app_context():
        mine = app_cache("test.numbers", lambda: BoundedCache(4))
        assert app_cache("test.numbers", lambda: BoundedCache(4)) is mine
        mine.put("one", 1)
    with other.app_context():
        theirs = app_cache("test.numbers", lambda: BoundedCache(4))
    assert theirs is not mine and theirs.get("one") is None
    clear_all(app)
    assert len(mine) == 0
