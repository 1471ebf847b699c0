"""Pages of the participant flow: consent, picking, preview. The picking and preview pages are
drawn by small scripts that talk to the participant API; these views only check the session."""
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET, require_http_methods

from webapp.core import selectors as core_selectors
from webapp.participants import selectors, services
from webapp.participants.pages import consent_page, redirect_to_consent, session_image
from webapp.participants.sessions import session_participant


def _round_or_404(slug: str):
    picking_round = selectors.picking_round_get(slug)
    if picking_round is None:
        raise Http404("No such study.")
    return picking_round


def _study_page(picking_round, page: str):
    """A round run by a study (`studies_ref`) is taken through the study's own pages."""
    return redirect(f"studies:{page}", slug=picking_round.studies_ref)


@require_GET
def round_list(request):
    return render(request, "participants/rounds.html", {"rounds": selectors.picking_round_list_open()})


@never_cache
@require_http_methods(["GET", "POST"])
def consent(request, slug: str):
    picking_round = _round_or_404(slug)
    if picking_round.studies_ref:
        return _study_page(picking_round, "consent")

    def join(params, consent: bool):
        participant, _ = services.participant_join(picking_round=picking_round, params=params, consent=consent)
        return participant

    context = {"round": picking_round, "participant": session_participant(request, picking_round)}
    return consent_page(request, template="participants/consent.html", context=context, join=join,
                        next_url=reverse("participants:pick", args=[slug]))


def _participant_page(request, slug: str, template: str, finished_redirect: str | None, unfinished_redirect: str | None):
    picking_round = _round_or_404(slug)
    if picking_round.studies_ref:
        return _study_page(picking_round, "pick")
    participant = session_participant(request, picking_round)
    if participant is None:
        return redirect_to_consent(request, "participants:consent", slug)
    finished = participant.finished_at is not None
    if finished and finished_redirect:
        return redirect(finished_redirect, slug=slug)
    if not finished and unfinished_redirect:
        return redirect(unfinished_redirect, slug=slug)
    context = {"round": picking_round, "participant": participant, "active_model": core_selectors.active_model_version()}
    return render(request, template, context)


@never_cache
@ensure_csrf_cookie
@require_GET
def pick(request, slug: str):
    return _participant_page(request, slug, "participants/pick.html", "participants:preview", None)


@never_cache
@ensure_csrf_cookie
@require_GET
def preview(request, slug: str):
    return _participant_page(request, slug, "participants/preview.html", None, "participants:pick")


@require_GET
def candidate_image(request, token: str, size: str):
    """A shown image by its opaque per-set token, only for the participant it was shown to, in that
    participant's variant; the response names no file (a name would say which rendering it is)."""
    if size not in ("screen", "thumb"):
        raise Http404("Unknown size.")
    item = selectors.item_by_token(token)
    return session_image(request, participant_id=item.pick_set.participant_id if item else None,
                         image=lambda: services.item_image(item=item, size=size))
