from django.urls import path

from accounts import platform_views

urlpatterns = [
    path("wechat/platform/", platform_views.platform_push, name="platform_push"),
    path("official-accounts/authorize/", platform_views.authorize_start, name="platform_authorize"),
    path(
        "official-accounts/authorize/return/",
        platform_views.authorize_return,
        name="platform_authorize_return",
    ),
]
