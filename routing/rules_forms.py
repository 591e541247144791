"""Forms of the routing pages: a rule (conditions and action), the brand's routing
settings, and a team's response-time targets."""

from __future__ import annotations

import re

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts import selectors
from accounts.forms import LANGUAGE_CHOICES
from accounts.scope import Scope
from routing.language import LANGUAGES
from routing.models import RoutingRule, RoutingSettings
from routing.rules_admin import SETTINGS_FIELDS

EITHER = [("", _("Either")), ("yes", _("Yes")), ("no", _("No"))]
_SEPARATORS = re.compile(r"[,，、\n]")


def split_words(text: str) -> list[str]:
    """ "airport, 接机" -> ["airport", "接机"]: commas (also Chinese ones) or lines."""
    return [w.strip() for w in _SEPARATORS.split(text or "") if w.strip()]


def _tristate(value: str) -> bool | None:
    return {"yes": True, "no": False}.get(value)


def _from_tristate(value: bool | None) -> str:
    return "" if value is None else ("yes" if value else "no")


class _MemberChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: object) -> str:
        return obj.display_name or obj.user.name or obj.user.email


class RuleForm(forms.Form):
    """A rule's conditions (each one empty holds always) and its action, with the brand's
    accounts, teams and agents that the member sees as the choices."""

    name = forms.CharField(label=_("Name"), max_length=120)
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)
    accounts = forms.ModelMultipleChoiceField(
        label=_("Channel accounts"), required=False, queryset=None,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("The account the follower writes to; none: any account."))
    languages = forms.MultipleChoiceField(
        label=_("Languages"), required=False, widget=forms.CheckboxSelectMultiple,
        choices=[(c, n) for c, n in LANGUAGE_CHOICES if c in LANGUAGES],
        help_text=_("The follower's language, from their choice, their profile or their "
                    "text; none: any language."))
    first_contact = forms.ChoiceField(
        label=_("First contact"), choices=EITHER, required=False,
        help_text=_("Yes: only a follower with no earlier conversation."))
    off_hours = forms.ChoiceField(
        label=_("Outside business hours"), choices=EITHER, required=False,
        help_text=_("Yes: only while the channel account is closed."))
    keywords = forms.CharField(
        label=_("Keywords"), required=False, max_length=2000,
        help_text=_("The text contains one of these, ignoring case; separate them with "
                    "commas. For example airport, 接机"))
    menu_keys = forms.CharField(
        label=_("Menu keys"), required=False, max_length=2000,
        help_text=_("The menu item clicked; separate keys with commas."))
    tags = forms.CharField(label=_("Tags"), required=False, max_length=2000,
                           help_text=_("The follower has one of these tags."))
    attributes = forms.CharField(
        label=_("Customer attributes"), required=False, max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("One per line as name = value, for example tier = gold; each must "
                    "hold."))
    action = forms.ChoiceField(label=_("Send to"), choices=RoutingRule.Action.choices,
                               widget=forms.RadioSelect)
    team = forms.ModelChoiceField(
        label=_("Team"), required=False, queryset=None,
        help_text=_("For “A team”: the team that takes them."))
    account = forms.ModelChoiceField(
        label=_("Account"), required=False, queryset=None,
        help_text=_("For “Another account's team”: the account whose own team takes "
                    "them (its team that is not central, first by name)."))
    agent = _MemberChoice(label=_("Agent"), required=False, queryset=None,
                          help_text=_("For “A specific agent”, when online with room."))

    def __init__(self, *args: object, scope: Scope, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["accounts"].queryset = scope.accounts().order_by("name")
        self.fields["account"].queryset = scope.accounts().order_by("name")
        self.fields["team"].queryset = selectors.team_list(scope=scope).order_by("name")
        self.fields["agent"].queryset = selectors.member_list(scope=scope)

    @staticmethod
    def initial_for(rule: RoutingRule) -> dict:
        return {
            "name": rule.name, "is_active": rule.is_active,
            "accounts": list(rule.accounts.all()), "languages": rule.languages,
            "first_contact": _from_tristate(rule.first_contact),
            "off_hours": _from_tristate(rule.off_hours),
            "keywords": ", ".join(rule.keywords), "menu_keys": ", ".join(rule.menu_keys),
            "tags": ", ".join(rule.tags),
            "attributes": "\n".join(f"{k} = {v}" for k, v in rule.attributes.items()),
            "action": rule.action, "team": rule.team_id, "account": rule.account_id,
            "agent": rule.agent_id,
        }

    def clean_attributes(self) -> dict[str, str]:
        found = {}
        for line in (self.cleaned_data.get("attributes") or "").splitlines():
            if not line.strip():
                continue
            name, sep, value = line.partition("=")
            if not sep or not name.strip():
                raise forms.ValidationError(
                    _("“%(line)s” is not name = value.") % {"line": line.strip()})
            found[name.strip()] = value.strip()
        return found

    def service_input(self) -> dict:
        """The cleaned form as rules_admin's services take it."""
        data = self.cleaned_data
        pk = lambda obj: obj.pk if obj is not None else None  # noqa: E731
        return {
            "name": data["name"], "is_active": data["is_active"], "action": data["action"],
            "account_ids": [a.pk for a in data["accounts"]], "languages": data["languages"],
            "first_contact": _tristate(data["first_contact"]),
            "off_hours": _tristate(data["off_hours"]),
            "keywords": split_words(data["keywords"]),
            "menu_keys": split_words(data["menu_keys"]), "tags": split_words(data["tags"]),
            "attributes": data["attributes"], "team_id": pk(data["team"]),
            "account_id": pk(data["account"]), "agent_id": pk(data["agent"]),
        }


class RoutingSettingsForm(forms.ModelForm):
    """Every setting with its explanation (the model's help texts, and these)."""

    class Meta:
        model = RoutingSettings
        fields = list(SETTINGS_FIELDS)
        help_texts = {
            "overflow_after_minutes": _("With “After waiting”: how long a conversation "
                                        "waits for the local team before it overflows."),
            "transfer_timeout_to": _("Back to the agent who sent it, or into the receiving "
                                     "team's queue."),
            "warn_before_minutes": _("The console flags a conversation this many minutes "
                                     "before its reply is due, and claim-next offers it "
                                     "first."),
        }


class TargetsForm(forms.Form):
    first_response_minutes = forms.IntegerField(
        label=_("First response (minutes)"), required=False, min_value=1,
        max_value=60 * 24 * 30,
        help_text=_("Business minutes from the follower's first message; empty: no target."))
    next_response_minutes = forms.IntegerField(
        label=_("Next response (minutes)"), required=False, min_value=1,
        max_value=60 * 24 * 30,
        help_text=_("Business minutes from each later message; empty: no target."))
