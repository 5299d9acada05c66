from django.urls import include, path

app_name = "earnings"

urlpatterns = [
    path("statements/", include("earnings.statement_urls")),
]
