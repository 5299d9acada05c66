from django.urls import path

from consent import views

app_name = "consent"

urlpatterns = [
    path("consent/<str:token>/", views.notice, name="notice"),
]
