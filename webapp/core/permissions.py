"""Who may use which endpoint. DRF denies by default (settings.REST_FRAMEWORK): every API view names its
audience with one of these, so an endpoint someone forgot to think about answers 403, not to everyone.

- `Public`: anyone; participant and demo endpoints identify people by their session or token instead.
- `IsResearcher`: research data and the platform's photo pool (`studies.run_studies`, held by the
  "Researchers" group and by superusers; being staff alone is not enough).
- `IsModelAdmin`: training, promoting and rolling back models change what every visitor and
  participant gets, so only admins (superusers) act; researchers and other staff may look.
"""
from rest_framework.permissions import BasePermission

RESEARCH_PERMISSION = "studies.run_studies"


def is_researcher(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active and user.has_perm(RESEARCH_PERMISSION))


def is_model_admin(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active and user.is_superuser)


class DenyByDefault(BasePermission):
    message = "This endpoint does not say who may use it, so nobody may."

    def has_permission(self, request, view) -> bool:
        return False


class Public(BasePermission):
    def has_permission(self, request, view) -> bool:
        return True


class IsResearcher(BasePermission):
    message = "Only researchers may use this endpoint."

    def has_permission(self, request, view) -> bool:
        return is_researcher(request.user)


class IsModelAdmin(BasePermission):
    message = "Only admins may train, promote or roll back models."

    def has_permission(self, request, view) -> bool:
        return is_model_admin(request.user)
