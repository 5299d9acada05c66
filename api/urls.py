from django.urls import path

from api import views
from api.v1 import api

urlpatterns = [
    path("api/v1/", api.urls),
    path("api-keys/", views.key_list, name="api_keys"),
    path("api-keys/new/", views.key_new, name="api_key_new"),
    path("api-keys/<int:pk>/revoke/", views.key_revoke, name="api_key_revoke"),
    path("webhooks/", views.webhook_list, name="webhooks"),
    path("webhooks/new/", views.webhook_new, name="webhook_new"),
    path("webhooks/<int:pk>/", views.webhook_deliveries, name="webhook_deliveries"),
    path("webhooks/<int:pk>/test/", views.webhook_test, name="webhook_test"),
    path("webhooks/<int:pk>/enable/", views.webhook_enable, name="webhook_enable"),
    path("webhooks/<int:pk>/delete/", views.webhook_delete, name="webhook_delete"),
]
