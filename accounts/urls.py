from django.urls import path

from accounts import business_hours_views, my_settings, views

urlpatterns = [
    path("", views.home, name="home"),
    path("official-accounts/new/", views.account_create, name="account_create"),
    path("official-accounts/<int:pk>/", views.account_detail, name="account_detail"),
    path("official-accounts/<int:pk>/edit/", views.account_edit, name="account_edit"),
    path("official-accounts/<int:pk>/connect/", views.account_connect, name="account_connect"),
    path("official-accounts/<int:pk>/disconnect/", views.account_disconnect,
         name="account_disconnect"),
    path("members/", views.members, name="members"),
    path("members/<int:pk>/edit/", views.member_edit, name="member_edit"),
    path("members/<int:pk>/remove/", views.member_remove, name="member_remove"),
    path("invite/<str:token>/", views.invitation_accept, name="invitation_accept"),
    path("teams/", views.teams, name="teams"),
    path("teams/<int:pk>/edit/", views.team_edit, name="team_edit"),
    path("teams/<int:pk>/delete/", views.team_delete, name="team_delete"),
    path("business-hours/", business_hours_views.business_hours_page, name="business_hours"),
    path("business-hours/accounts/<int:pk>/", business_hours_views.account_hours,
         name="account_hours"),
    path("business-hours/teams/<int:pk>/", business_hours_views.team_hours, name="team_hours"),
    path("business-hours/<int:pk>/remove/", business_hours_views.hours_remove,
         name="hours_remove"),
    path("business-hours/closures/<int:pk>/remove/", business_hours_views.closure_remove,
         name="closure_remove"),
    path("api-keys/", views.api_keys, name="api_keys"),
    path("api-keys/<int:pk>/revoke/", views.api_key_revoke, name="api_key_revoke"),
    path("settings/", views.brand_settings, name="brand_settings"),
    path("me/settings/", my_settings.my_settings, name="my_settings"),
    path("brand/switch/", views.brand_switch, name="brand_switch"),
    path("healthz", views.healthz, name="healthz"),
]
