"""Brand pages of the tags part: /crm/tags/ (each tag with its status on every account:
its WeChat id, changes pending, refusals and why; renaming and deleting a tag, on WeChat
too) and /crm/tag-rules/ (the ordered rules, their form, and a tester: which rule a text
would trigger)."""

from __future__ import annotations

import logging

from django import forms
from django.contrib import messages
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from accounts.errors import Conflict, DomainError, InvalidInput
from accounts.scope import Scope, access
from accounts.views import member_required
from accounts.views import show_refusal as _show
from followers import tag_limits, tag_rules
from followers import tags as tag_services
from followers.models import Campaign, Tag, TagRule, TagSync
from followers.tasks_tags import tags_pull_enqueue, tags_push_enqueue

logger = logging.getLogger(__name__)


class CrmTagForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("New tag"), max_length=30)


class CrmTagRenameForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("New name"), max_length=tag_limits.MAX_NAME)


def _names(text: str) -> list[str]:
    return [n.strip() for n in text.split(",") if n.strip()]


class CrmTagRuleForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=80)
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=TagRule.Kind.choices)
    account = forms.TypedChoiceField(label=gettext_lazy("Account"), required=False,
                                     coerce=int, empty_value=None)
    match = forms.ChoiceField(label=gettext_lazy("Match"), choices=TagRule.Match.choices,
                              required=False)
    pattern = forms.CharField(label=gettext_lazy("Keyword or pattern"), max_length=200,
                              required=False)
    behaviour = forms.ChoiceField(label=gettext_lazy("Behaviour"), required=False,
                                  choices=[("", "—"), *TagRule.Behaviour.choices])
    campaign = forms.TypedChoiceField(label=gettext_lazy("QR campaign"), required=False,
                                      coerce=int, empty_value=None)
    menu_key = forms.CharField(label=gettext_lazy("Menu key"), max_length=128, required=False)
    count = forms.IntegerField(label=gettext_lazy("Messages"), min_value=1, required=False)
    days = forms.IntegerField(label=gettext_lazy("Days"), min_value=1, required=False)
    add_tags = forms.CharField(label=gettext_lazy("Add tags (comma separated)"),
                               required=False)
    remove_tags = forms.CharField(label=gettext_lazy("Remove tags (comma separated)"),
                                  required=False)
    set_language = forms.ChoiceField(label=gettext_lazy("Set language"), required=False,
                                     choices=[("", "—"), *TagRule.Language.choices])
    reply_text = forms.CharField(label=gettext_lazy("Reply"), required=False,
                                 widget=forms.Textarea(attrs={"rows": 2}))
    reply_en = forms.CharField(label=gettext_lazy("Reply in English"), required=False,
                               widget=forms.Textarea(attrs={"rows": 2}))
    reply_zh_cn = forms.CharField(label=gettext_lazy("Reply in Simplified Chinese"),
                                  required=False, widget=forms.Textarea(attrs={"rows": 2}))
    reply_zh_tw = forms.CharField(label=gettext_lazy("Reply in Traditional Chinese"),
                                  required=False, widget=forms.Textarea(attrs={"rows": 2}))
    is_active = forms.BooleanField(label=gettext_lazy("Active"), required=False)

    def __init__(self, *args: object, scope: Scope, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["account"].choices = [("", _("Every account")), *[
            (a.pk, a.name) for a in scope.accounts().order_by("name")]]
        self.fields["campaign"].choices = [("", "—"), *[
            (c.pk, c.name) for c in Campaign.objects.filter(brand_id=scope.brand_id)]]

    @staticmethod
    def initial_for(rule: TagRule) -> dict:
        replies = rule.replies or {}
        return {
            "name": rule.name, "kind": rule.kind, "account": rule.account_id,
            "match": rule.match, "pattern": rule.pattern, "behaviour": rule.behaviour,
            "campaign": rule.campaign_id, "menu_key": rule.menu_key, "count": rule.count,
            "days": rule.days, "set_language": rule.set_language,
            "add_tags": ", ".join(t.name for t in rule.add_tags.all()),
            "remove_tags": ", ".join(t.name for t in rule.remove_tags.all()),
            "reply_text": rule.reply_text, "reply_en": replies.get("en", ""),
            "reply_zh_cn": replies.get("zh_CN", ""), "reply_zh_tw": replies.get("zh_TW", ""),
            "is_active": rule.is_active,
        }

    def service_input(self) -> dict:
        d = self.cleaned_data
        replies = {code: d[name].strip() for code, name in (
            ("en", "reply_en"), ("zh_CN", "reply_zh_cn"), ("zh_TW", "reply_zh_tw"))
            if d[name].strip()}
        return {
            "name": d["name"], "kind": d["kind"], "account_id": d["account"],
            "match": d["match"] or TagRule.Match.EXACT, "pattern": d["pattern"],
            "behaviour": d["behaviour"], "campaign_id": d["campaign"],
            "menu_key": d["menu_key"], "count": d["count"], "days": d["days"],
            "add_tags": _names(d["add_tags"]), "remove_tags": _names(d["remove_tags"]),
            "set_language": d["set_language"], "reply_text": d["reply_text"].strip(),
            "replies": replies, "is_active": d["is_active"],
        }


@member_required
def tags_page(request: HttpRequest, scope: Scope) -> HttpResponse:
    form = CrmTagForm(request.POST or None)
    if request.method == "POST":
        scope.require("teams.manage")
        if form.is_valid():
            try:
                tag_services.tag_get_or_create(brand_id=scope.brand_id,
                                               name=form.cleaned_data["name"])
            except DomainError as exc:
                _show(form, exc)
            else:
                messages.success(request, _("Tag saved."))
                return redirect("crm_tags")
    tags = (Tag.objects.filter(brand_id=scope.brand_id)
            .annotate(follower_count=Count("followers", distinct=True))
            .prefetch_related("account_tags").order_by("name"))
    rows = []
    for t in tags:
        status = tag_services.tag_account_status(tag=t)
        rows.append({"tag": t, "accounts": status,
                     "retry": any(a["failed"] or a["pending"] for a in status)})
    return render(request, "followers/tags/tags.html", {
        "rows": rows, "form": form, "can_change": scope.can("teams.manage")})


@member_required
@require_POST
def tag_push(request: HttpRequest, scope: Scope, pk: int) -> HttpResponse:
    """Try the tag's refused changes on WeChat again (after making room there)."""
    tag = access(Tag.objects.filter(brand_id=scope.brand_id), pk)
    scope.require("teams.manage")
    rows = TagSync.objects.filter(tag=tag, account__in=scope.accounts())
    rows.filter(state=TagSync.State.FAILED).update(state=TagSync.State.PENDING, reason="",
                                                   errcode=None)
    tags_push_enqueue(sorted(set(rows.values_list("account_id", flat=True))))
    messages.success(request, _("The tag's changes are being sent to WeChat again."))
    return redirect("crm_tags")


@member_required
@require_POST
def tags_pull(request: HttpRequest, scope: Scope) -> HttpResponse:
    """Read every account's tags and their members back from WeChat (a task each)."""
    scope.require("teams.manage")
    for account_id in scope.accounts().values_list("pk", flat=True):
        if not tags_pull_enqueue(account_id):
            messages.error(request, _("The background workers cannot be reached: try "
                                      "again in a minute."))
            return redirect("crm_tags")
    messages.success(request, _("The accounts' tags are being read from WeChat."))
    return redirect("crm_tags")


@member_required
@require_http_methods(["GET", "POST"])
def tag_rename_page(request: HttpRequest, scope: Scope, pk: int) -> HttpResponse:
    """GET: the tag's name in a form; POST renames it, on WeChat too, or says why not."""
    tag = access(Tag.objects.filter(brand_id=scope.brand_id), pk)
    scope.require("teams.manage")
    old = tag.name
    form = CrmTagRenameForm(request.POST or None, initial={"name": tag.name})
    if request.method == "POST" and form.is_valid():
        try:
            tag_services.tag_rename(tag=tag, name=form.cleaned_data["name"])
        except InvalidInput as exc:
            _show(form, exc)
        except Conflict as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Tag “%(old)s” renamed to “%(name)s”.")
                             % {"old": old, "name": tag.name})
            return redirect("crm_tags")
    return render(request, "followers/tags/tag_rename.html", {
        "tag": tag, "form": form, "accounts": tag_services.tag_wechat_accounts(tag=tag)})


@member_required
@require_http_methods(["GET", "POST"])
def tag_delete_page(request: HttpRequest, scope: Scope, pk: int) -> HttpResponse:
    """GET asks for confirmation, saying what goes with the tag; POST deletes it, on
    WeChat first, or says why it stays (on the tags page)."""
    tag = access(Tag.objects.filter(brand_id=scope.brand_id), pk)
    scope.require("teams.manage")
    if request.method == "GET":
        return render(request, "followers/tags/tag_delete.html", {
            "tag": tag, **tag_services.tag_delete_preview(tag=tag)})
    try:
        tag_services.tag_delete(tag=tag, by=scope.membership)
    except Conflict as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Tag “%(name)s” deleted.") % {"name": tag.name})
    return redirect("crm_tags")


@member_required
def rules_page(request: HttpRequest, scope: Scope) -> HttpResponse:
    rules = list(tag_rules.tag_rule_list(scope=scope))
    text = request.GET.get("text", "")[:2000]
    tested = None
    if text.strip():
        hits = {row["rule_id"]: row for row in tag_rules.rules_test(scope=scope, text=text)}
        tested = {"text": text, "hits": hits,
                  "acting": next((r for r in rules if hits.get(r.pk, {}).get("acts")), None)}
    return render(request, "followers/tags/rules.html", {
        "rules": rules, "tested": tested, "can_change": scope.can("teams.manage")})


def _rule_form(request: HttpRequest, scope: Scope, rule: TagRule | None = None) -> HttpResponse:
    initial = CrmTagRuleForm.initial_for(rule) if rule else {"is_active": True,
                                                              "kind": "keyword"}
    form = CrmTagRuleForm(request.POST or None, scope=scope, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            tag_rules.tag_rule_save(scope=scope, rule=rule, data=form.service_input(),
                                    by=scope.membership)
        except DomainError as exc:
            _show(form, exc)
        else:
            messages.success(request, _("Rule saved."))
            return redirect("crm_tag_rules")
    return render(request, "followers/tags/rule_form.html", {"form": form, "rule": rule})


@member_required
def rule_new(request: HttpRequest, scope: Scope) -> HttpResponse:
    scope.require("teams.manage")
    return _rule_form(request, scope)


@member_required
def rule_edit(request: HttpRequest, scope: Scope, pk: int) -> HttpResponse:
    rule = access(tag_rules.tag_rule_list(scope=scope), pk)
    scope.require("teams.manage")
    return _rule_form(request, scope, rule)


@member_required
def rule_delete(request: HttpRequest, scope: Scope, pk: int) -> HttpResponse:
    """GET asks for confirmation; POST deletes."""
    rule = access(tag_rules.tag_rule_list(scope=scope), pk)
    scope.require("teams.manage")
    if request.method == "GET":
        return render(request, "followers/tags/rule_delete.html", {"rule": rule})
    tag_rules.tag_rule_delete(scope=scope, rule=rule)
    messages.success(request, _("Rule deleted."))
    return redirect("crm_tag_rules")


@member_required
@require_POST
def rule_move(request: HttpRequest, scope: Scope, pk: int) -> HttpResponse:
    rule = access(tag_rules.tag_rule_list(scope=scope), pk)
    scope.require("teams.manage")
    direction = "up" if request.POST.get("direction") == "up" else "down"
    tag_rules.tag_rule_move(scope=scope, rule=rule, direction=direction)
    return redirect("crm_tag_rules")
