from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, HttpResponseRedirect
from django.templatetags.static import static
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

admin.site.site_header = _("CPOR review")
admin.site.site_title = _("CPOR review")


def favicon(request: HttpRequest) -> HttpResponseRedirect:
    """Browsers and crawlers ask for /favicon.ico whatever the page links: send them to the file."""
    return HttpResponseRedirect(static("favicon.ico"))


urlpatterns = [
    path("favicon.ico", favicon),
    path("", include("accounts.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path(settings.ADMIN_PATH, admin.site.urls),
    path("", include("api.urls")),
    path("", include("consent.urls")),
    path("earnings/", include("earnings.urls")),
    path("", include("claims.urls")),
]
