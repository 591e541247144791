from django.contrib import admin
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import include, path
from django.utils.translation import gettext as _
from django.views.defaults import page_not_found
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from accounts.api import AccountViewSet, InvitationViewSet, MemberViewSet, TeamViewSet
from config.env import env_bool
from followers import (
    routes_campaigns,
    routes_identity,
    routes_segments,
    routes_sync,
    routes_tags,
)
from messaging import routes_customers, routes_keywords
from messaging.api import ConversationViewSet, PreparedResponseViewSet
from routing.api_routes import register as register_routing


class Router(DefaultRouter):
    # No `.json` twin of every route. The API answers JSON (a client that wants to say so
    # sends Accept: application/json), the schema never listed the twins, and those of the
    # detail routes and actions answered 500: the views take no `format` argument.
    include_format_suffixes = False


router = Router()
router.register("accounts", AccountViewSet, basename="account")
router.register("members", MemberViewSet, basename="member")
router.register("invitations", InvitationViewSet, basename="invitation")
router.register("teams", TeamViewSet, basename="team")
router.register("conversations", ConversationViewSet, basename="conversation")
router.register("prepared-responses", PreparedResponseViewSet, basename="prepared-response")
register_routing(router)
# The CRM's parts, each with its REST resources and its pages under /crm/.
CRM_PARTS = (routes_sync, routes_identity, routes_tags, routes_campaigns, routes_segments,
             routes_customers, routes_keywords)
for _part in CRM_PARTS:
    _part.register(router)

admin.site.site_header = "Brand Portal operations"


def handler404(request: HttpRequest, exception: Exception) -> HttpResponse:
    """A path under /api/ that names no route (an id that is not a number, a `.json`
    suffix) answers like the API's own 404s, in JSON; the pages keep Django's."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": _("Not found.")}, status=404)
    return page_not_found(request, exception)


urlpatterns = [
    path("admin/", admin.site.urls),
    path("auth/", include("allauth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", include(router.urls)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api_schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api_schema"), name="api_docs"),
    # Before `wechat/` and the accounts pages: /wechat/platform/ and the authorize pages.
    path("", include("accounts.platform_urls")),
    path("wechat/", include("messaging.urls")),
    path("console/", include("routing.urls")),
    path("routing/", include("routing.admin_urls")),
    path("crm/", include([page for part in CRM_PARTS for page in part.PAGES])),
    path("", include("accounts.urls")),
]

# bench/ingest.py's ceiling (one bare INSERT per request), never mounted in production.
if env_bool("BENCH_CEILING", False):
    urlpatterns.append(path("bench/", include("bench.ceiling_urls")))

