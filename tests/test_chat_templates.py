"""The chat templates compiled at start (flows.core.texts.warm_up)."""

from __future__ import annotations

from flows.core import texts


def test_warm_up_compiles_every_chat_template_and_the_cache_keeps_them():
    names = list(texts.warm_up())
    on_disk = sorted(
        str(p.relative_to(texts.TEMPLATES / "chat"))
        for p in (texts.TEMPLATES / "chat").rglob("*.txt")
    )
    assert sorted(names) == on_disk and len(names) > 100
    env = texts._env()  # noqa: SLF001 - the one environment every message renders with
    assert env.cache is not None and len(names) <= env.cache.capacity  # none evicted again
    compiled = {key[1] for key in env.cache}
    assert compiled >= set(names)
