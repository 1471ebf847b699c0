"""Who may change which model serves: admins (superusers). Training, promoting and rolling back change
what every visitor and participant gets, so researchers and other staff may look but not act."""
from rest_framework.permissions import BasePermission


def is_model_admin(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active and user.is_superuser)


class IsModelAdmin(BasePermission):
    message = "Only admins may train, promote or roll back models."

    def has_permission(self, request, view) -> bool:
        return is_model_admin(request.user)
