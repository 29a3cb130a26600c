"""``eventonight.hooks.kept.KeptPages``: pages kept per process, served only at the version read."""

from eventonight.hooks.kept import KeptPages


def test_a_page_is_served_only_at_the_version_it_was_kept_with():
    pages = KeptPages(10)
    pages.put(("a", 20, 0), 7, [{"id": "a"}])
    assert pages.get(("a", 20, 0), 7) == [{"id": "a"}]
    assert pages.get(("a", 20, 0), 8) is None, "another version is another page"
    assert pages.get(("a", 20, 20), 7) is None, "another key is another page"
    pages.put(("a", 20, 0), 8, [{"id": "b"}])
    assert pages.get(("a", 20, 0), 7) is None and pages.get(("a", 20, 0), 8) == [{"id": "b"}]


def test_kept_pages_are_bounded_least_recently_used_first():
    pages = KeptPages(2)
    pages.put(("a", 20, 0), (1,), [{"id": "a"}])
    pages.put(("b", 20, 0), (1,), [{"id": "b"}])
    assert pages.get(("a", 20, 0), (1,)) == [{"id": "a"}]
    pages.put(("c", 20, 0), (1,), [{"id": "c"}])
    assert len(pages) == 2 and pages.get(("b", 20, 0), (1,)) is None, "b was the least recently used"
    assert pages.get(("c", 20, 0), (1,)) == [{"id": "c"}]


def test_size_zero_keeps_nothing():
    pages = KeptPages(0)
    pages.put("a", 1, ["page"])
    assert len(pages) == 0 and pages.get("a", 1) is None
