"""Helpers for the admin tests: a brand member made staff, and a change form as a browser
would send it back."""

from html.parser import HTMLParser

from django.contrib import admin
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType

from accounts.models import Membership, User


def staff_login(client, member: Membership, *, permissions: str = "all") -> User:  # noqa: ANN001
    """Log `member` in as staff holding every permission of every registered model
    ("all"), or every view permission ("view")."""
    user = member.user
    user.is_staff = True
    user.save()
    types = [ContentType.objects.get_for_model(m) for m in admin.site._registry]
    granted = Permission.objects.filter(content_type__in=types)
    if permissions == "view":
        granted = granted.filter(codename__startswith="view_")
    user.user_permissions.set(granted)
    client.force_login(user)
    return user


class _FormReader(HTMLParser):
    """What a browser would submit from the admin's change form."""

    def __init__(self) -> None:
        super().__init__()
        self.data: dict[str, list[str]] = {}
        self.in_form = False
        self.select: tuple[str, bool, list[str], list[str]] | None = None
        self.textarea: str | None = None

    def _add(self, name: str, value: str) -> None:
        self.data.setdefault(name, []).append(value)

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = dict(attrs)
        if tag == "form":
            self.in_form = (a.get("id") or "").endswith("_form")
        if not self.in_form or not a.get("name") and tag != "option":
            return
        if tag == "input":
            kind = a.get("type", "text")
            if kind in ("submit", "button", "reset", "image", "file"):
                return
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            self._add(a["name"], a.get("value") or ("on" if kind == "checkbox" else ""))
        elif tag == "select":
            self.select = (a["name"], "multiple" in a, [], [])
        elif tag == "option" and self.select is not None:
            self.select[3].append(a.get("value", ""))
            if "selected" in a:
                self.select[2].append(a.get("value", ""))
        elif tag == "textarea":
            self.textarea = a["name"]
            self._add(a["name"], "")

    def handle_data(self, data: str) -> None:
        if self.textarea is not None:
            self.data[self.textarea][-1] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.in_form = False
        elif tag == "textarea" and self.textarea is not None:
            # Browsers drop the newline Django writes after <textarea>.
            self.data[self.textarea][-1] = self.data[self.textarea][-1].removeprefix("\n")
            self.textarea = None
        elif tag == "select" and self.select is not None:
            name, multiple, chosen, offered = self.select
            if not multiple and not chosen and offered:
                chosen = offered[:1]
            for value in chosen:
                self._add(name, value)
            if multiple and not chosen:
                self.data.setdefault(name, [])
            self.select = None


def form_data(response) -> dict[str, list[str]]:  # noqa: ANN001
    """The admin change form of `response`, as its submit button would post it."""
    reader = _FormReader()
    reader.feed(response.content.decode())
    return reader.data
