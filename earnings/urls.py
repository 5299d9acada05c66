from django.urls import include, path

from earnings import views

app_name = "earnings"

urlpatterns = [
    path("", views.report_page, name="report"),
    path("export.csv", views.report_csv, name="report_csv"),
    path("statements/", include("earnings.statement_urls")),
]
