"""The in-process cache of rendered public pages."""

from __future__ import annotations

import threading

from tracker.public.cache import PageCache


def test_least_recently_used_goes_first():
    cache = PageCache(maxsize=2)
    cache.put("a", b"1")
    cache.put("b", b"2")
    assert cache.get("a") == b"1"  # a is now the most recent
    cache.put("c", b"3")
    assert cache.get("b") is None and cache.get("a") == b"1" and cache.get("c") == b"3"
    assert len(cache) == 2 and cache.hits == 3 and cache.misses == 1


def test_threads_share_it_safely():
    cache = PageCache(maxsize=64)

    def work(n: int) -> None:
        for i in range(500):
            cache.put((n, i % 80), b"x")
            cache.get((n, (i * 7) % 80))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(cache) == 64
