"""The site with the admin mounted at another path, as ADMIN_PATH does in production."""

from django.contrib import admin
from django.urls import path

from cpor.urls import urlpatterns as site

urlpatterns = [
    path("back-office-7f3a/", admin.site.urls),
    *[pattern for pattern in site if getattr(pattern, "app_name", None) != "admin"],
]
