"""Statement downloads (CSV, printable page), included by earnings/urls.py at /earnings/statements/."""

from django.urls import URLPattern, path

from earnings import statement_views

urlpatterns: list[URLPattern] = [
    path("<int:pk>.csv", statement_views.statement_csv, name="statement_csv"),
    path("<int:pk>/print/", statement_views.statement_print, name="statement_print"),
]
