from django.conf import settings
from django.http import HttpRequest


def environment(request: HttpRequest) -> dict[str, str]:
    return {"cpor_environment": settings.CPOR_ENVIRONMENT, "admin_path": settings.ADMIN_PATH}
