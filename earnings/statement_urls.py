"""Statement downloads (CSV, printable page), included by earnings/urls.py."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
