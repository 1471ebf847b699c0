"""The researcher role: the "Researchers" group holds `studies.run_studies` (dashboard, results,
exports, DRF endpoints) and the model rights the admin needs. Participants are anonymous and never
have it; superusers always do."""
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied

from webapp.core.permissions import is_researcher

RESEARCHERS = "Researchers"
ADMIN_MODELS = ("study", "studymethod", "studyparticipant", "trial", "trialoption", "vote")


def ensure_researcher_group(**kwargs) -> None:
    """post_migrate: create the group (idempotent) with the study permission and the admin's model rights."""
    from django.contrib.auth.models import Group, Permission

    group, _ = Group.objects.get_or_create(name=RESEARCHERS)
    actions = ("view", "add", "change")
    codenames = ["run_studies"] + [f"{action}_{model}" for model in ADMIN_MODELS for action in actions]
    group.permissions.add(*Permission.objects.filter(content_type__app_label="studies", codename__in=codenames))
    group.permissions.add(*Permission.objects.filter(content_type__app_label="core", codename="view_photo"))


def researcher_required(view):
    """Pages: anonymous people are sent to the login page, logged-in non-researchers get 403."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), login_url="studies:login")
        if not is_researcher(request.user):
            raise PermissionDenied("Only researchers may see this page.")
        return view(request, *args, **kwargs)

    return wrapper

