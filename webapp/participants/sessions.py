"""Participant identity in the Django session (anonymous: no account, one entry per round)."""
from django.middleware.csrf import CsrfViewMiddleware
from rest_framework.exceptions import PermissionDenied

from webapp.participants import selectors
from webapp.participants.models import Participant, PickingRound

SESSION_KEY = "participants"


def remember_participant(request, participant: Participant) -> None:
    joined = dict(request.session.get(SESSION_KEY, {}))
    joined[participant.picking_round.slug] = str(participant.pk)
    request.session[SESSION_KEY] = joined


def session_participant(request, picking_round: PickingRound) -> Participant | None:
    participant_id = request.session.get(SESSION_KEY, {}).get(picking_round.slug)
    return selectors.participant_get(participant_id, picking_round)


def enforce_csrf(request) -> None:
    """Django's CSRF check for API writes by anonymous participants (DRF skips it without a login)."""
    django_request = getattr(request, "_request", request)
    check = CsrfViewMiddleware(lambda _request: None)
    check.process_request(django_request)
    if check.process_view(django_request, None, (), {}) is not None:
        raise PermissionDenied("The page's security token is missing or expired; reload the page.")
