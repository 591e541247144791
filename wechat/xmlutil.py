"""Safe parsing and rendering of the small XML documents WeChat exchanges.

Platform bodies are flat ``<xml>`` documents with a few nested containers
(``<Articles><item>…</item></Articles>``). They never need a DTD, entities or
processing instructions, so any of those is refused outright rather than
configured away, and expat runs with parameter-entity parsing off.

Mapping between XML and Python (``parse_xml`` and ``to_xml`` are inverses for it):

- a leaf element is its text, exactly (CDATA and whitespace kept);
- an element with children is a dict; ``<item>`` children always form a list, and
  an element whose only children are ``<item>`` is that list;
- a repeated child of the root is refused (one is expected: a second ``ToUserName``
  is a parser-differential trick); a repeated nested element becomes a list.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from xml.parsers import expat

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_DEPTH",
    "BodyTooLarge",
    "HostileXml",
    "MalformedXml",
    "XmlError",
    "parse_xml",
    "to_xml",
]

MAX_BODY_BYTES = 65536
# The deepest real payload is MASSSENDJOBFINISH: xml/CopyrightCheckResult/ResultList/item/X.
MAX_DEPTH = 8
ITEM = "item"


class XmlError(ValueError):
    """A body we refuse to read."""


class HostileXml(XmlError):
    """DTDs, entities, processing instructions, excessive nesting or repeated fields."""


class BodyTooLarge(XmlError):
    """The body exceeds MAX_BODY_BYTES."""


class MalformedXml(XmlError):
    """Not well-formed XML, or not shaped like a platform document."""


def _refusal(what: str) -> Any:
    def handler(*_args: Any) -> None:
        raise HostileXml(f"{what} is not allowed")

    return handler


# Every construct that could pull in a DTD, an entity or an instruction fails the parse.
_REFUSALS = (
    ("StartDoctypeDeclHandler", _refusal("a DOCTYPE")),
    ("EntityDeclHandler", _refusal("an entity declaration")),
    ("UnparsedEntityDeclHandler", _refusal("an entity declaration")),
    ("NotationDeclHandler", _refusal("a notation declaration")),
    ("ExternalEntityRefHandler", _refusal("an external entity")),
    ("ProcessingInstructionHandler", _refusal("a processing instruction")),
)
_NEVER = expat.XML_PARAM_ENTITY_PARSING_NEVER


class _Repeated(list):  # type: ignore[type-arg]
    """A list made of repeated nested elements (distinguishes it from a value that is a list)."""


def _attach(parent: list[Any], tag: str, value: Any, *, at_root: bool) -> None:
    """Add a finished element to its parent container frame ``[tag, children]``."""
    siblings = parent[1]  # None until the first child decides: dict, or list of items
    if tag == ITEM:
        if siblings is None:
            parent[1] = [value]
        elif type(siblings) is list:
            siblings.append(value)
        else:
            siblings.setdefault(ITEM, []).append(value)
    elif siblings is None:
        parent[1] = {tag: value}
    elif type(siblings) is list:
        # An item list that turns out to have named siblings (PUBLISHJOBFINISH's
        # <article_detail><count/><item/></article_detail>) becomes a dict.
        parent[1] = {ITEM: siblings, tag: value}
    elif tag not in siblings:
        siblings[tag] = value
    elif at_root:
        raise HostileXml(f"repeated <{tag}>")
    elif isinstance(siblings[tag], _Repeated):
        siblings[tag].append(value)
    else:
        siblings[tag] = _Repeated((siblings[tag], value))


def parse_xml(body: bytes | str, *, root: str | None = "xml") -> dict[str, Any]:
    """The children of the root element of ``body`` as a dict.

    Raises BodyTooLarge, HostileXml or MalformedXml (all XmlError). ``root=None``
    accepts any root element name.
    """
    if isinstance(body, str):
        data = body.encode("utf-8")
        encoding: str | None = "utf-8"  # the str was already decoded; ignore the prolog
    else:
        data = body
        encoding = None
    if len(data) > MAX_BODY_BYTES:
        raise BodyTooLarge(f"body is {len(data)} bytes, the limit is {MAX_BODY_BYTES}")
    if not data.strip():
        raise MalformedXml("empty body")

    # This is the hot path of every callback, so it allocates as little as it can: the
    # element being read is kept in two variables and becomes a frame [tag, children] on
    # the stack only once a child shows it is a container; leaves never get a frame.
    stack: list[list[Any]] = []
    leaf: str | None = None
    text = ""

    def start(tag: str, _attrs: Any) -> None:
        nonlocal leaf, text
        if leaf is not None:
            if text.strip():
                raise MalformedXml(f"<{leaf}> mixes text and elements")
            stack.append([leaf, None])
        if len(stack) >= MAX_DEPTH:
            raise HostileXml(f"nesting deeper than {MAX_DEPTH}")
        leaf, text = tag, ""

    def characters(chunk: str) -> None:
        nonlocal text
        if leaf is not None:
            text += chunk
        elif chunk.strip():
            raise MalformedXml(f"<{stack[-1][0]}> mixes text and elements")

    def end(tag: str) -> None:
        nonlocal leaf
        if leaf is not None:
            leaf, value = None, text
        else:
            value = stack.pop()[1]
        if stack:
            siblings = stack[-1][1]
            # Inline the common case (a new field of a dict) to save a call per element.
            if type(siblings) is dict and tag not in siblings and tag != ITEM:
                siblings[tag] = value
            else:
                _attach(stack[-1], tag, value, at_root=len(stack) == 1)
        else:
            stack.append([tag, value])  # the root, done

    parser = expat.ParserCreate(encoding)
    parser.SetParamEntityParsing(_NEVER)
    # No buffer_text: it allocates 8 KiB per parser, and characters() joins chunks anyway.
    parser.ordered_attributes = True  # a list per element is cheaper than a dict
    for name, handler in _REFUSALS:
        setattr(parser, name, handler)
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = characters
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise MalformedXml(f"not well-formed XML: {exc}") from exc

    tag, children = stack[0]
    if root is not None and tag != root:
        raise MalformedXml(f"root element is <{tag}>, expected <{root}>")
    if type(children) is str:
        if children.strip():
            raise MalformedXml("the root element holds text, not fields")
        return {}
    if type(children) is list:
        return {ITEM: children}
    return children


# Characters XML 1.0 cannot carry at all, not even as character references.
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*\Z")


def _cdata(text: str) -> str:
    if _ILLEGAL.search(text):
        raise ValueError("text holds a character XML 1.0 cannot represent")
    if "]]>" in text or "\r" in text:
        # "]]>" would close the section early, so it is split across two sections;
        # a bare CR would be normalised to LF by every parser, so it travels as &#13;.
        text = text.replace("]]>", "]]]]><![CDATA[>").replace("\r", "]]>&#13;<![CDATA[")
    return f"<![CDATA[{text}]]>"


def _element(tag: str, value: Any, out: list[str]) -> None:
    if value is None:
        return
    if not _NAME.match(tag):
        raise ValueError(f"{tag!r} is not a safe element name")
    if isinstance(value, _Repeated) or (tag == ITEM and isinstance(value, list | tuple)):
        for each in value:
            _element(tag, each, out)
        return
    out.append(f"<{tag}>")
    if isinstance(value, str):
        out.append(_cdata(value))
    elif isinstance(value, bool):
        raise TypeError(f"<{tag}>: booleans have no platform form; pass 0/1 or a string")
    elif isinstance(value, int | float):
        out.append(repr(value) if isinstance(value, float) else str(value))
    elif isinstance(value, Mapping):
        for key, child in value.items():
            _element(key, child, out)
    elif isinstance(value, list | tuple):
        for each in value:
            _element(ITEM, each, out)
    else:
        raise TypeError(f"<{tag}>: cannot render {type(value).__name__}")
    out.append(f"</{tag}>")


def to_xml(mapping: Mapping[str, Any], root: str = "xml") -> str:
    """Render ``mapping`` as a platform document.

    Strings become CDATA (any text round-trips: ``]]>``, CR, emoji), ints and floats
    plain text, dicts nested elements, lists ``<item>`` children, ``None`` is skipped.
    """
    out: list[str] = []
    _element(root, dict(mapping), out)
    return "".join(out)
