"""A small HTML tree from the standard library's parser, enough to ask where an element
sits ("is this error inside that field's wrapper?") without a browser."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    parent: Node | None = None
    children: list[Node | str] = field(default_factory=list)

    def walk(self) -> Iterator[Node]:
        for child in self.children:
            if isinstance(child, Node):
                yield child
                yield from child.walk()

    def find_all(self, tag: str | None = None, **attrs: str) -> list[Node]:
        """Descendants with this tag (any when None) whose attributes hold these values;
        `class_` matches one class among several."""
        wanted = {k.rstrip("_"): v for k, v in attrs.items()}
        found = []
        for node in self.walk():
            if tag is not None and node.tag != tag:
                continue
            if all(
                v in node.attrs.get("class", "").split() if k == "class"
                else node.attrs.get(k) == v
                for k, v in wanted.items()
            ):
                found.append(node)
        return found

    def text(self) -> str:
        parts = [c if isinstance(c, str) else c.text() for c in self.children]
        return " ".join(" ".join(parts).split())


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.current = self.root

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs}, parent=self.current)
        self.current.children.append(node)
        if tag not in VOID:
            self.current = node

    def handle_endtag(self, tag: str) -> None:
        node = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.current = node.parent

    def handle_data(self, data: str) -> None:
        self.current.children.append(data)


def parse(html: str) -> Node:
    builder = _Builder()
    builder.feed(html)
    builder.close()
    return builder.root


def page_of(response: Any) -> Node:
    """A 200 page, parsed (anything else fails with the start of what was answered)."""
    assert response.status_code == 200, response.content.decode()[:1500]
    return parse(response.content.decode())


def error_beside(page: Node, name: str) -> str:
    """The text of field ``name``'s error, which must sit inside that field's wrapper."""
    [wrapper] = page.find_all("div", class_="field", **{"data-field": name})
    [error] = page.find_all(id=f"id_{name}_error")
    assert error in list(wrapper.walk()), f"the {name} error is not inside its field"
    return error.text()
