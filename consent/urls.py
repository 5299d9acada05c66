from django.urls import path

from consent import decision_views, portal, views

app_name = "consent"

urlpatterns = [
    path("consent/<str:token>/", views.notice, name="notice"),
    # The customer portal (docs/design.md, "Customer portal").
    path("customer/", portal.home, name="customer_home"),
    path("customer/sign-in/<str:token>/", portal.sign_in_link, name="customer_sign_in"),
    path("customer/sign-out/", portal.sign_out, name="customer_sign_out"),
    path("customer/associations/<int:claim_id>/", portal.association, name="customer_association"),
    path(
        "customer/associations/<int:claim_id>/receipts/<int:event_id>/",
        portal.receipt,
        name="customer_receipt",
    ),
    path(
        "customer/associations/<int:claim_id>/decline/",
        decision_views.decline,
        name="customer_decline",
    ),
    path(
        "customer/associations/<int:claim_id>/end/",
        decision_views.request_end,
        name="customer_request_end",
    ),
]
