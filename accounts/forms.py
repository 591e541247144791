from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import Brand, OfficialAccount, Role, Team
from accounts.scope import Scope
from accounts.services import account_input_errors, role_grant_errors, team_input_errors
from accounts.time_zones import time_zone_choices, time_zone_error, time_zone_names

LANGUAGE_CHOICES = [
    ("en", _("English")),
    ("zh-hans", _("Simplified Chinese")),
    ("zh-hant", _("Traditional Chinese")),
    ("ja", _("Japanese")),
    ("ko", _("Korean")),
]


def _secret_field(label: str, help_text: str) -> forms.CharField:
    # render_value=False: a stored secret is never sent back to the browser.
    return forms.CharField(
        label=label,
        required=False,
        help_text=help_text,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )


class AccountForm(forms.ModelForm):
    app_secret = _secret_field(_("AppSecret"), _("Leave blank to keep the current secret."))
    token = _secret_field(_("Token"), _("Leave blank to keep it (a new account gets one)."))
    encoding_aes_key = _secret_field(
        _("EncodingAESKey"), _("43 letters and digits; blank keeps it (a new account gets one).")
    )
    languages = forms.MultipleChoiceField(
        label=_("Languages"),
        choices=LANGUAGE_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    timezone = forms.ChoiceField(
        label=_("Time zone"),
        choices=time_zone_choices,
        initial=OfficialAccount._meta.get_field("timezone").default,
    )

    class Meta:
        model = OfficialAccount
        fields = [
            "name",
            "appid",
            "original_id",
            "kind",
            "verified",
            "is_flagship",
            "connection",
            "message_mode",
            "timezone",
            "languages",
            "address",
            "phone",
            "is_active",
        ]

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is None:
            # A new account has no secret to keep: the hints say where each value comes from.
            self.fields["app_secret"].help_text = _(
                "From Settings > Basic configuration in the WeChat admin. You can also add it "
                "later in the connection wizard."
            )
            self.fields["token"].help_text = _("Leave blank and the portal generates one.")
            self.fields["encoding_aes_key"].help_text = _(
                "43 letters and digits; leave blank and the portal generates one."
            )
        field = self.fields["timezone"]
        field.error_messages["invalid_choice"] = time_zone_error("%(value)s")
        current = self.instance.timezone
        if current and current not in time_zone_names():
            # A zone saved before zones were checked stays selected, so saving the form
            # says it is wrong instead of silently switching to the list's first zone.
            field.choices = [(current, current), *field.choices]

    def clean_appid(self) -> str:
        return self.cleaned_data["appid"].strip()

    def clean(self) -> dict:
        # The service's rules, checked here too so every wrong field is reported at once,
        # beside itself; a field that already failed is not judged twice.
        data = super().clean()
        for name, messages in account_input_errors(data).items():
            for message in messages:
                self.add_error(name, message)
        return data

    def validate_unique(self) -> None:
        # The service reports a taken AppID without saying which brand holds it.
        return None


def account_choices(scope: Scope) -> list[tuple[int, str]]:
    return [(a.pk, a.name) for a in scope.accounts()]


class RoleGrantMixin:
    """The role field checked against what the requester may give, with the other fields."""

    scope: Scope

    def clean_role(self) -> str:
        role = self.cleaned_data["role"]
        if errors := role_grant_errors(scope=self.scope, role=role):
            raise forms.ValidationError(errors["role"])
        return role


class InvitationForm(RoleGrantMixin, forms.Form):
    email = forms.EmailField(label=_("Email"))
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.AGENT)
    accounts = forms.TypedMultipleChoiceField(
        label=_("Accounts served"),
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None means all accounts."),
    )

    def __init__(self, *args: object, scope: Scope, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.scope = scope
        self.fields["accounts"].choices = account_choices(scope)


class MembershipForm(RoleGrantMixin, forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)
    accounts = forms.TypedMultipleChoiceField(
        label=_("Accounts served"),
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None means all accounts."),
    )
    teams = forms.TypedMultipleChoiceField(
        label=_("Teams"), coerce=int, required=False, widget=forms.CheckboxSelectMultiple
    )
    languages = forms.MultipleChoiceField(
        label=_("Languages"),
        choices=LANGUAGE_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    capacity = forms.IntegerField(label=_("Capacity"), min_value=0, max_value=100)
    display_name = forms.CharField(label=_("Customer-facing name"), required=False, max_length=80)
    time_zone = forms.ChoiceField(label=_("Time zone"), required=False)

    def __init__(self, *args: object, scope: Scope, team_choices: list, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.scope = scope
        self.fields["accounts"].choices = account_choices(scope)
        self.fields["teams"].choices = team_choices
        _offer_member_time_zones(self.fields["time_zone"], brand=scope.brand)

    def clean_time_zone(self) -> str | None:
        # Left out of the request (a form of before zones), the member's zone stays as it
        # is: None; blank chooses the brand's.
        if self.fields["time_zone"].widget.value_omitted_from_data(
            self.data, self.files, self.add_prefix("time_zone")
        ):
            return None
        return self.cleaned_data["time_zone"]


def _offer_member_time_zones(field: forms.ChoiceField, *, brand: Brand) -> None:
    """A member's zone: the brand's (blank) first, then every zone."""
    field.choices = [
        ("", _("The brand's (%(zone)s)") % {"zone": brand.time_zone}), *time_zone_choices()
    ]
    field.error_messages["invalid_choice"] = time_zone_error("%(value)s")
    field.help_text = _("Times are shown in it on every page and in the console.")


class MySettingsForm(forms.Form):
    """What a member sets for themself."""

    time_zone = forms.ChoiceField(label=_("Time zone"), required=False)

    def __init__(self, *args: object, brand: Brand, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        _offer_member_time_zones(self.fields["time_zone"], brand=brand)


class TeamForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    accounts = forms.TypedMultipleChoiceField(
        label=_("Accounts"),
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None means every account."),
    )
    languages = forms.MultipleChoiceField(
        label=_("Languages"),
        choices=LANGUAGE_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    is_central = forms.BooleanField(label=_("Central care team"), required=False)

    def __init__(
        self, *args: object, scope: Scope, team: Team | None = None, **kwargs: object
    ) -> None:
        super().__init__(*args, **kwargs)
        self.scope, self.team = scope, team
        self.fields["accounts"].choices = account_choices(scope)

    def clean(self) -> dict:
        # The service's rules too, so a taken name and a missing account choice show at
        # once with the form's own errors; a field that already failed is not judged twice.
        data = super().clean()
        errors = team_input_errors(
            scope=self.scope, name=data.get("name", ""), account_ids=data.get("accounts", []),
            team=self.team,
        )
        for name, messages in errors.items():
            if name not in self.errors:
                for message in messages:
                    self.add_error(name, message)
        return data


class ApiKeyForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)


class BrandSettingsForm(forms.ModelForm):
    # Not required: a request that leaves it out keeps the brand's zone.
    time_zone = forms.ChoiceField(
        label=_("Time zone"),
        choices=time_zone_choices,
        required=False,
        help_text=_("Times are shown in it to members who have not chosen their own."),
    )

    class Meta:
        model = Brand
        fields = ["require_mfa", "account_name_pattern", "time_zone"]

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].error_messages["invalid_choice"] = time_zone_error("%(value)s")


class AcceptInvitationForm(forms.Form):
    name = forms.CharField(label=_("Your name"), max_length=150)
    password = forms.CharField(label=_("Password"), widget=forms.PasswordInput, min_length=10)


class AppSecretForm(forms.Form):
    app_secret = forms.CharField(
        label=_("AppSecret"),
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_("From Settings > Basic configuration in the WeChat admin."),
        max_length=128,
    )
