"""My settings: what a member chooses for themself (today, the zone times are shown in).

Any member reaches it from the top bar; it reads and writes the signed-in member's own
membership of the active brand, never another's."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from accounts import services
from accounts.errors import DomainError
from accounts.forms import MySettingsForm
from accounts.scope import Scope
from accounts.views import _fail, member_required


@member_required
def my_settings(request: HttpRequest, scope: Scope) -> HttpResponse:
    membership = scope.membership
    if membership is None:  # a scope without a member (an API key) never renders pages
        return redirect("home")
    form = MySettingsForm(
        request.POST or None, initial={"time_zone": membership.time_zone}, brand=scope.brand
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.membership_set_time_zone(scope=scope, time_zone=form.cleaned_data["time_zone"])
        except DomainError as exc:
            _fail(request, form, exc)
        else:
            messages.success(request, _("Settings saved."))
            return redirect("my_settings")
    return render(request, "accounts/my_settings.html", {"form": form})
