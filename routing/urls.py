from django.urls import path

from routing import views

urlpatterns = [
    path("", views.console, name="console"),
    path("conversations/<int:pk>/profile/", views.profile, name="console_profile"),
]
