from django.urls import path

from messaging import views

urlpatterns = [
    path("<str:appid>/callback/", views.callback, name="wechat_callback"),
]
