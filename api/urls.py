from django.urls import path

from api import views
from api.v1 import api

urlpatterns = [
    path("api/v1/", api.urls),
    path("api-keys/", views.key_list, name="api_keys"),
    path("api-keys/new/", views.key_new, name="api_key_new"),
    path("api-keys/<int:pk>/revoke/", views.key_revoke, name="api_key_revoke"),
]
