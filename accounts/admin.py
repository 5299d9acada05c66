"""The admin signs people in with the same email form and lockout policy as the portal."""

from django.contrib import admin

from accounts.forms import AdminSignInForm

admin.site.login_form = AdminSignInForm
