"""Brand admin pages. Each view loads through the scope, calls a service, renders."""

from collections.abc import Callable
from functools import wraps

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts import connection, disconnect, selectors, services
from accounts.capabilities import account_capabilities, bundle_label
from accounts.crypto_fields import mask_secret, seal, unseal
from accounts.errors import DomainError, NotInScope, RoleRequired
from accounts.forms import (
    AcceptInvitationForm,
    AccountForm,
    ApiKeyForm,
    AppSecretForm,
    BrandSettingsForm,
    InvitationForm,
    MembershipForm,
    TeamForm,
)
from accounts.health import account_health
from accounts.middleware import SESSION_BRAND_KEY
from accounts.models import Membership, OfficialAccount, User
from accounts.scope import Scope, access
from accounts.serializers import callback_url

FRESH_CONNECTION_KEY = "fresh_connection"
FRESH_API_KEY = "fresh_api_key"
FRESH_SECRET_KEY = "fresh_secret"  # noqa: S105 (a session key name, not a secret)


def member_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed in, member of a brand; domain errors become 404/403 or a form message."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        if request.tenant is None:
            return render(request, "accounts/no_brand.html", status=403)
        try:
            return view(request, request.tenant, *args, **kwargs)
        except NotInScope as exc:
            raise Http404() from exc
        except RoleRequired as exc:
            raise PermissionDenied(exc.message) from exc

    return wrapper


def _fail(request: HttpRequest, form: object, exc: DomainError) -> None:
    show_refusal(form, exc)


def show_refusal(form: object, exc: DomainError) -> None:
    """Show a domain error on the form, beside each field it names (at the top when it
    names none); scope errors stay 404, and role errors 403 unless they are about a value
    the member chose (an admin picking "owner"), which the form answers beside that field."""
    if isinstance(exc, NotInScope) or (isinstance(exc, RoleRequired) and not exc.fields):
        raise exc
    if not exc.fields:
        form.add_error(None, exc.message)
    for name, reasons in exc.fields.items():
        form.add_error(name if name in form.fields else None, reasons)


@member_required
def home(request: HttpRequest, scope: Scope) -> HttpResponse:
    filters = {k: request.GET.get(k, "") for k in ("kind", "verified", "q")}
    accounts = selectors.account_list(scope=scope, filters=filters)
    return render(
        request,
        "accounts/home.html",
        {
            "accounts": accounts,
            "filters": filters,
            "naming_violations": services.account_name_violations(scope=scope),
        },
    )


@member_required
def account_create(request: HttpRequest, scope: Scope) -> HttpResponse:
    scope.require("accounts.manage")
    form = AccountForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            account = services.account_create(scope=scope, **form.cleaned_data)
        except DomainError as exc:
            _fail(request, form, exc)
        else:
            # The connection details are shown once, on the next page, then only masked.
            request.session[FRESH_CONNECTION_KEY] = account.pk
            messages.success(request, _("Account created."))
            return redirect("account_detail", pk=account.pk)
    return render(request, "accounts/account_form.html", {"form": form, "creating": True})


@member_required
def account_detail(request: HttpRequest, scope: Scope, pk: int) -> HttpResponse:
    account = access(selectors.account_list(scope=scope), pk)
    fresh = request.session.pop(FRESH_CONNECTION_KEY, None) == account.pk
    return render(
        request,
        "accounts/account_detail.html",
        {
            "account": account,
            "callback_url": callback_url(account),
            "show_connection": fresh,
            "health": account_health(account),
            "capabilities": account_capabilities(account),
            "hints": {
                "app_secret": mask_secret(account.app_secret),
                "token": mask_secret(account.token),
                "encoding_aes_key": mask_secret(account.encoding_aes_key),
            },
        },
    )


@member_required
def account_connect(request: HttpRequest, scope: Scope, pk: int) -> HttpResponse:
    """The connection wizard: server configuration, credentials, test connection."""
    account = access(selectors.account_list(scope=scope), pk)
    scope.require("accounts.manage")
    secret_form = AppSecretForm(request.POST if request.POST.get("action") == "secret" else None)
    report = None
    # An authorized account has no server configuration or AppSecret of its own.
    direct = account.connection == OfficialAccount.Connection.DIRECT
    if request.method == "POST":
        action = request.POST.get("action")
        if action in ("token", "encoding_aes_key", "secret") and not direct:
            raise Http404()
        if action in ("token", "encoding_aes_key"):
            value = connection.account_regenerate_secret(scope=scope, account=account, which=action)
            # Shown once, on the next page view, for pasting into the WeChat admin. Session
            # data is signed, not encrypted: the value waits there sealed.
            request.session[FRESH_SECRET_KEY] = {"account": account.pk, "which": action,
                                                 "sealed": seal(value)}
            return redirect("account_connect", pk=account.pk)
        if action == "secret" and secret_form.is_valid():
            services.account_update(
                scope=scope, account=account, app_secret=secret_form.cleaned_data["app_secret"]
            )
            messages.success(request, _("AppSecret saved."))
            return redirect("account_connect", pk=account.pk)
        if action == "test":
            report = connection.account_test_connection(scope=scope, account=account)
            account.refresh_from_db()
    fresh = request.session.pop(FRESH_SECRET_KEY, None)
    value = unseal(fresh.get("sealed")) if fresh and fresh.get("account") == account.pk else None
    fresh = {"which": fresh["which"], "value": value} if value else None
    return render(
        request,
        "accounts/account_connect.html",
        {
            "account": account,
            "callback_url": callback_url(account),
            "fresh": fresh,
            "hints": {
                "app_secret": mask_secret(account.app_secret),
                "token": mask_secret(account.token),
                "encoding_aes_key": mask_secret(account.encoding_aes_key),
            },
            "secret_form": secret_form,
            "report": report,
            "direct": direct,
            "bundles": [(i, bundle_label(i)) for i in account.granted_bundles or []],
        },
    )


@require_http_methods(["GET", "POST"])
@member_required
def account_disconnect(request: HttpRequest, scope: Scope, pk: int) -> HttpResponse:
    """GET asks for confirmation and says what disconnecting does; POST disconnects."""
    account = access(selectors.account_list(scope=scope), pk)
    scope.require("accounts.manage")
    if request.method == "GET":
        return render(request, "accounts/account_disconnect.html", {"account": account})
    if account.disconnected_at is not None:
        messages.info(request, _("The account was already disconnected."))
    else:
        disconnect.account_disconnect_by_member(scope=scope, account=account, by=request.user)
        messages.success(request, _("%(account)s is disconnected.") % {"account": account.name})
    return redirect("account_detail", pk=account.pk)


@member_required
def account_edit(request: HttpRequest, scope: Scope, pk: int) -> HttpResponse:
    account = access(selectors.account_list(scope=scope), pk)
    scope.require("accounts.manage")
    form = AccountForm(request.POST or None, instance=account)
    if request.method == "POST" and form.is_valid():
        try:
            services.account_update(scope=scope, account=account, **form.cleaned_data)
        except DomainError as exc:
            _fail(request, form, exc)
        else:
            messages.success(request, _("Account saved."))
            return redirect("account_detail", pk=account.pk)
    return render(
        request, "accounts/account_form.html", {"form": form, "account": account, "creating": False}
    )


@member_required
def members(request: HttpRequest, scope: Scope) -> HttpResponse:
    form = InvitationForm(request.POST or None, scope=scope)
    if request.method == "POST":
        scope.require("members.manage")
        if form.is_valid():
            try:
                services.invitation_create(
                    scope=scope,
                    email=form.cleaned_data["email"],
                    role=form.cleaned_data["role"],
                    account_ids=form.cleaned_data["accounts"],
                    by=request.user,
                )
            except DomainError as exc:
                _fail(request, form, exc)
            else:
                messages.success(request, _("Invitation sent."))
                return redirect("members")
    return render(
        request,
        "accounts/members.html",
        {
            "members": selectors.member_list(scope=scope),
            "invitations": selectors.invitation_list(scope=scope),
            "form": form,
        },
    )


@member_required
def member_edit(request: HttpRequest, scope: Scope, pk: int) -> HttpResponse:
    membership: Membership = access(selectors.member_list(scope=scope), pk)
    scope.require("members.manage")
    team_choices = [(t.pk, t.name) for t in selectors.team_list(scope=scope)]
    initial = {
        "role": membership.role,
        "accounts": list(membership.accounts.values_list("pk", flat=True)),
        "teams": list(membership.teams.values_list("pk", flat=True)),
        "languages": membership.languages,
        "capacity": membership.capacity,
        "display_name": membership.display_name,
        "time_zone": membership.time_zone,
    }
    form = MembershipForm(
        request.POST or None, initial=initial, scope=scope, team_choices=team_choices
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.membership_update(
                scope=scope,
                membership=membership,
                role=data["role"],
                account_ids=data["accounts"],
                team_ids=data["teams"],
                languages=data["languages"],
                capacity=data["capacity"],
                display_name=data["display_name"],
                time_zone=data["time_zone"],
            )
        except DomainError as exc:
            _fail(request, form, exc)
        else:
            messages.success(request, _("Member saved."))
            return redirect("members")
    return render(request, "accounts/member_form.html", {"form": form, "membership": membership})


@require_http_methods(["GET", "POST"])
@member_required
def member_remove(request: HttpRequest, scope: Scope, pk: int) -> HttpResponse:
    """GET asks for confirmation and says what removing does; POST removes."""
    membership = access(selectors.member_list(scope=scope), pk)
    scope.require("members.manage")
    if request.method == "GET":
        return render(request, "accounts/member_remove.html", {
            "membership": membership,
            "effects": selectors.membership_removal_effects(membership=membership),
        })
    try:
        services.membership_remove(scope=scope, membership=membership)
    except DomainError as exc:
        if isinstance(exc, NotInScope | RoleRequired):
            raise
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Member removed."))
    return redirect("members")


def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    try:
        invitation = services.invitation_by_token(raw_token=token)
    except NotInScope as exc:
        raise Http404() from exc
    user = request.user if request.user.is_authenticated else None
    existing = User.objects.filter(email__iexact=invitation.email).first()
    form = AcceptInvitationForm(request.POST or None)
    if request.method == "POST":
        if user is None and existing is None and form.is_valid():
            user = User.objects.create_user(
                invitation.email,
                form.cleaned_data["password"],
                name=form.cleaned_data["name"],
            )
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        if user is not None:
            try:
                membership = services.invitation_accept(raw_token=token, user=user)
            except DomainError as exc:
                messages.error(request, exc.message)
            else:
                request.session[SESSION_BRAND_KEY] = membership.brand_id
                messages.success(request, _("Welcome to %(brand)s.") % {"brand": membership.brand})
                return redirect("home")
    return render(
        request,
        "accounts/invitation_accept.html",
        {"invitation": invitation, "form": form, "existing": existing, "user_": user},
    )


@member_required
def teams(request: HttpRequest, scope: Scope) -> HttpResponse:
    form = TeamForm(request.POST or None, scope=scope)
    if request.method == "POST":
        scope.require("teams.manage")
        if form.is_valid():
            try:
                services.team_create(
                    scope=scope,
                    name=form.cleaned_data["name"],
                    account_ids=form.cleaned_data["accounts"],
                    languages=form.cleaned_data["languages"],
                    is_central=form.cleaned_data["is_central"],
                )
            except DomainError as exc:
                _fail(request, form, exc)
            else:
                messages.success(request, _("Team created."))
                return redirect("teams")
    return render(
        request, "accounts/teams.html", {"teams": selectors.team_list(scope=scope), "form": form}
    )


@member_required
def team_edit(request: HttpRequest, scope: Scope, pk: int) -> HttpResponse:
    team = access(selectors.team_list(scope=scope), pk)
    scope.require("teams.manage")
    initial = {
        "name": team.name,
        "accounts": list(team.accounts.values_list("pk", flat=True)),
        "languages": team.languages,
        "is_central": team.is_central,
    }
    form = TeamForm(request.POST or None, initial=initial, scope=scope, team=team)
    if request.method == "POST" and form.is_valid():
        try:
            services.team_update(
                scope=scope,
                team=team,
                name=form.cleaned_data["name"],
                account_ids=form.cleaned_data["accounts"],
                languages=form.cleaned_data["languages"],
                is_central=form.cleaned_data["is_central"],
            )
        except DomainError as exc:
            _fail(request, form, exc)
        else:
            messages.success(request, _("Team saved."))
            return redirect("teams")
    return render(request, "accounts/team_form.html", {"form": form, "team": team})


@require_http_methods(["GET", "POST"])
@member_required
def team_delete(request: HttpRequest, scope: Scope, pk: int) -> HttpResponse:
    """GET asks for confirmation and says what deleting does; POST deletes."""
    team = access(selectors.team_list(scope=scope), pk)
    scope.require("teams.manage")
    if request.method == "GET":
        return render(request, "accounts/team_delete.html", {
            "team": team, "effects": selectors.team_deletion_effects(team=team),
        })
    services.team_delete(scope=scope, team=team)
    messages.success(request, _("Team deleted."))
    return redirect("teams")


@member_required
def api_keys(request: HttpRequest, scope: Scope) -> HttpResponse:
    scope.require("api_keys.manage")
    form = ApiKeyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        _key, raw = services.api_key_create(
            brand=scope.brand, name=form.cleaned_data["name"], by=request.user
        )
        # Shown once, on the next page view; sealed while it waits in the session.
        request.session[FRESH_API_KEY] = seal(raw)
        return redirect("api_keys")
    return render(
        request,
        "accounts/api_keys.html",
        {
            "keys": selectors.api_key_list(scope=scope),
            "form": form,
            "fresh_key": unseal(request.session.pop(FRESH_API_KEY, None)),
        },
    )


@require_http_methods(["GET", "POST"])
@member_required
def api_key_revoke(request: HttpRequest, scope: Scope, pk: int) -> HttpResponse:
    """GET asks for confirmation and says what revoking does; POST revokes."""
    key = access(selectors.api_key_list(scope=scope), pk)
    scope.require("api_keys.manage")
    if request.method == "GET":
        return render(request, "accounts/api_key_revoke.html", {"key": key})
    services.api_key_revoke(scope=scope, key=key)
    messages.success(request, _("Key revoked."))
    return redirect("api_keys")


@member_required
def brand_settings(request: HttpRequest, scope: Scope) -> HttpResponse:
    scope.require("brand.settings")
    form = BrandSettingsForm(request.POST or None, instance=scope.brand)
    if request.method == "POST" and form.is_valid():
        try:
            services.brand_update_settings(
                scope=scope,
                require_mfa=form.cleaned_data["require_mfa"],
                account_name_pattern=form.cleaned_data["account_name_pattern"],
                time_zone=form.cleaned_data["time_zone"] or None,
            )
        except DomainError as exc:
            _fail(request, form, exc)
        else:
            messages.success(request, _("Settings saved."))
            return redirect("brand_settings")
    return render(request, "accounts/brand_settings.html", {"form": form})


@require_POST
@login_required
def brand_switch(request: HttpRequest) -> HttpResponse:
    brand_id = request.POST.get("brand_id", "")
    if not (brand_id.isascii() and brand_id.isdigit()) or not Membership.objects.filter(
        user=request.user, brand_id=int(brand_id)
    ).exists():
        raise Http404()
    request.session[SESSION_BRAND_KEY] = int(brand_id)
    return redirect("home")


def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")
