from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from accounts.api import AccountViewSet, InvitationViewSet, MemberViewSet, TeamViewSet
from config.env import env_bool
from messaging.api import ConversationViewSet, PreparedResponseViewSet

router = DefaultRouter()
router.register("accounts", AccountViewSet, basename="account")
router.register("members", MemberViewSet, basename="member")
router.register("invitations", InvitationViewSet, basename="invitation")
router.register("teams", TeamViewSet, basename="team")
router.register("conversations", ConversationViewSet, basename="conversation")
router.register("prepared-responses", PreparedResponseViewSet, basename="prepared-response")

admin.site.site_header = "Brand Portal operations"

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
    path("", include("accounts.urls")),
]

# bench/ingest.py's ceiling (one bare INSERT per request), never mounted in production.
if env_bool("BENCH_CEILING", False):
    urlpatterns.append(path("bench/", include("bench.ceiling_urls")))

