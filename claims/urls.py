from django.contrib.auth import views as auth_views
from django.urls import path

from claims import insight, views

app_name = "claims"

urlpatterns = [
    path("", views.home, name="home"),
    path("claims/", views.dashboard, name="dashboard"),
    path("claims/export.csv", views.export_csv, name="export"),
    path("claims/new/", views.claim_new, name="new"),
    path("claims/<int:pk>/", views.claim_detail, name="detail"),
    path("claims/<int:pk>/edit/", views.claim_edit, name="edit"),
    path("claims/<int:pk>/submit/", views.submit, name="submit"),
    path("claims/<int:pk>/resubmit/", views.resubmit, name="resubmit"),
    path("claims/<int:pk>/withdraw/", views.withdraw, name="withdraw"),
    path("claims/<int:pk>/dispute/", views.dispute, name="dispute"),
    path("claims/<int:pk>/copy/", views.copy, name="copy"),
    path("claims/<int:pk>/delete/", views.delete, name="delete"),
    path("claims/<int:pk>/comments/", views.add_comment, name="comment"),
    path("claims/<int:pk>/documents/", views.upload_documents, name="upload"),
    path("claims/<int:pk>/documents/<int:document_pk>/", views.download_document, name="download"),
    path(
        "claims/<int:pk>/documents/<int:document_pk>/remove/", views.remove_document, name="remove_document"
    ),
    path("insight/", insight.overview, name="insight"),
    path("insight/export.csv", insight.export_csv, name="insight_export"),
    path("insight/<int:pk>/", insight.customer, name="insight_customer"),
    path("poe-template/", views.poe_template, name="poe_template"),
    path("language/", views.set_language, name="set_language"),
    path("accounts/password-reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path(
        "accounts/password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(template_name="registration/password_reset_done.html"),
        name="password_reset_done",
    ),
    path(
        "accounts/reset/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "accounts/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(
            template_name="registration/password_reset_complete.html"
        ),
        name="password_reset_complete",
    ),
]
