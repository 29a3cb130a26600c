"""Free-text search without a text index: a normalised token array (works on SecantusDB and MongoDB)."""

from __future__ import annotations

import re
import unicodedata

_WORD = re.compile(r"[a-z0-9]+")
MAX_TOKENS = 300
#: Beginnings of words kept for search, up to this many letters; longer query words are also
#: checked whole against the words themselves.
PREFIX_LENGTH = 10


def normalise(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def tokens(*texts: str) -> list[str]:
    """Distinct words of the texts, lower-case, accents stripped."""
    words = _WORD.findall(normalise(" ".join(t for t in texts if t)))
    return list(dict.fromkeys(w for w in words if len(w) > 1))[:MAX_TOKENS]


def prefixes(words: list[str]) -> list[str]:
    """Every beginning of every word, up to PREFIX_LENGTH letters: a search word is then an equality."""
    return list(dict.fromkeys(w[:k] for w in words for k in range(1, min(len(w), PREFIX_LENGTH) + 1)))


def query_tokens(query: str) -> list[str]:
    return _WORD.findall(normalise(query))[:10]
