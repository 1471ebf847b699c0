"""Pages of the participant flow: consent, picking, preview. The picking and preview pages are
drawn by small scripts that talk to the participant API; these views only check the session."""
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET, require_http_methods

from webapp.core import selectors as core_selectors
from webapp.core.errors import ServiceError
from webapp.participants import selectors, services
from webapp.participants.models import SetItem
from webapp.participants.sessions import SESSION_KEY, remember_participant, session_participant

RECRUITMENT_PARAMS = ("PROLIFIC_PID", "STUDY_ID", "SESSION_ID", "workerId", "assignmentId", "hitId", "turkSubmitTo")


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
    source = request.POST if request.method == "POST" else request.GET
    context = {
        "round": picking_round,
        "recruitment": [(name, source[name]) for name in RECRUITMENT_PARAMS if source.get(name)],
        "participant": session_participant(request, picking_round),
        "error": "",
    }
    if request.method == "POST":
        try:
            participant, _ = services.participant_join(
                picking_round=picking_round, params=request.POST, consent=request.POST.get("consent") == "yes"
            )
        except services.AlreadyParticipated as error:
            context["error"] = str(error)
            return render(request, "participants/consent.html", context, status=403)
        except ServiceError as error:
            context["error"] = str(error)
            return render(request, "participants/consent.html", context, status=400)
        remember_participant(request, participant)
        return redirect("participants:pick", slug=slug)
    return render(request, "participants/consent.html", context)


def _participant_page(request, slug: str, template: str, finished_redirect: str | None, unfinished_redirect: str | None):
    picking_round = _round_or_404(slug)
    if picking_round.studies_ref:
        return _study_page(picking_round, "pick")
    participant = session_participant(request, picking_round)
    if participant is None:
        query = request.META.get("QUERY_STRING", "")
        return redirect(reverse("participants:consent", args=[slug]) + (f"?{query}" if query else ""))
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
    item = SetItem.objects.select_related("candidate", "pick_set__participant").filter(token=token).first()
    joined = request.session.get(SESSION_KEY, {}).values()
    if item is None or str(item.pick_set.participant_id) not in joined:
        raise Http404("No such image.")
    response = HttpResponse(services.item_image(item=item, size=size), content_type="image/jpeg")
    response["Cache-Control"] = "private, max-age=86400"
    return response
