"""Follow every link in every response, bounded: the "every link resolves" check.

What counts as a link in a JSON body (Partner Center and Graph alike):

- a Partner Center link object ``{"uri": ..., "method": "GET", "headers": [{key, value}]}``,
  its headers replayed (``MS-ContinuationToken``);
- a string under a key ending in ``Link``/``link`` (``pdfDownloadLink``,
  ``taxReceiptPdfDownloadLink``, ``resourceLocation@odata.navigationLink``, ``@odata.nextLink``);
- ``@odata.context`` (without its ``#fragment``);
- a manifest's blobs: ``{rootDirectory}/{name}?{sasToken}``;

and, in any response, the ``Location`` header. Partner Center URIs are relative and without
``/v1`` (``/invoices/...``); the crawler puts ``/v1`` in front, as the .NET SDK does.

Usage::

    crawler = Crawler(fetch)              # fetch(url, headers) -> a TestClient/httpx response
    visits = crawler.crawl([Link("/v1/invoices")])
    assert not [v for v in visits if not v.ok]
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

PARTNER_CENTER_PREFIX = "/v1"
MAX_VISITS = 5000  # a server that keeps inventing links fails the crawl instead of hanging


@dataclass(frozen=True)
class Link:
    url: str  # absolute, or a path on the server under test
    headers: tuple[tuple[str, str], ...] = ()
    found_in: str = "(start)"  # the URL whose response held it


@dataclass(frozen=True)
class Visit:
    link: Link
    status: int
    content_type: str = ""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def describe(self) -> str:
        return f"{self.status} GET {self.link.url} (found in {self.link.found_in})"


def _absolute(uri: str) -> str:
    """A Partner Center relative URI gets ``/v1``; anything else is left as it is."""
    if uri.startswith("/") and not uri.startswith(("/v1/", "/v1.0/", "/beta/", "/blobs/")):
        return PARTNER_CENTER_PREFIX + uri
    return uri


def links_in(body: Any) -> Iterator[tuple[str, tuple[tuple[str, str], ...]]]:
    """``(url, headers)`` of every link in a decoded JSON body, in document order."""
    if isinstance(body, list):
        for item in body:
            yield from links_in(item)
        return
    if not isinstance(body, dict):
        return
    if isinstance(body.get("uri"), str) and body.get("method", "GET") == "GET":
        pairs = tuple((h["key"], h["value"]) for h in body.get("headers") or [])
        yield _absolute(body["uri"]), pairs
    if {"rootDirectory", "sasToken", "blobs"} <= body.keys():
        for blob in body["blobs"]:
            yield f"{body['rootDirectory']}/{blob['name']}?{body['sasToken']}", ()
    for key, value in body.items():
        if isinstance(value, str) and (key == "@odata.context" or key.lower().endswith("link")):
            yield _absolute(value.split("#", 1)[0]), ()
        elif isinstance(value, dict | list):
            yield from links_in(value)


def _decoded(response: Any) -> Any:
    if "json" not in response.headers.get("content-type", ""):
        return None
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return None


@dataclass
class Crawler:
    """Breadth-first over links; each distinct (URL, headers) is fetched once."""

    fetch: Callable[[str, Mapping[str, str]], Any]
    max_visits: int = MAX_VISITS
    visits: list[Visit] = field(default_factory=list)
    _seen: set[tuple[str, tuple[tuple[str, str], ...]]] = field(default_factory=set)

    def found(self, response: Any, url: str) -> Iterator[Link]:
        """The links of one response: its ``Location`` and those of its JSON body."""
        location = response.headers.get("location")
        if location:
            yield Link(_absolute(location), (), url)
        for target, headers in links_in(_decoded(response)):
            yield Link(target, headers, url)

    def crawl(self, starts: Iterable[Link]) -> list[Visit]:
        """Visit ``starts`` and everything reachable from them; the visits made by this call."""
        first = len(self.visits)
        queue = list(starts)
        while queue:
            link = queue.pop(0)
            key = (link.url, link.headers)
            if key in self._seen:
                continue
            self._seen.add(key)
            if len(self.visits) >= self.max_visits:
                raise AssertionError(f"more than {self.max_visits} links: is one generating more?")
            response = self.fetch(link.url, dict(link.headers))
            content_type = response.headers.get("content-type", "")
            self.visits.append(Visit(link, response.status_code, content_type))
            queue.extend(self.found(response, link.url))
        return self.visits[first:]

    def seed(self, response: Any, url: str) -> list[Link]:
        """The links of a response the caller made itself (a POST): where to start from."""
        return list(self.found(response, url))
