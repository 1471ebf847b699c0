"""What the participant pages of picking rounds and of studies share: the consent page (join, remember the
participant in the session, go on), the way back to it, and images served only to the session they were
shown to. The pages of both apps are thin uses of these."""

from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from webapp.core.errors import NotAllowed, ServiceError
from webapp.participants.sessions import SESSION_KEY, remember_participant

# Query parameters of recruitment links (Prolific, MTurk) that `services.recruitment_from_params` reads.
RECRUITMENT_PARAMS = ("PROLIFIC_PID", "STUDY_ID", "SESSION_ID", "workerId", "assignmentId", "hitId", "turkSubmitTo")


def consent_page(request, *, template: str, context: dict, join, next_url: str):
    """GET: the consent form (recruitment parameters of the link ride along as hidden fields). POST: `join`
    (params, consent) → the participant, who is remembered in the session and sent on to `next_url`;
    a refusal is shown on the form (403 for someone who may not take part again, else 400)."""
    source = request.POST if request.method == "POST" else request.GET
    context = {
        **context,
        "recruitment": [(name, source[name]) for name in RECRUITMENT_PARAMS if source.get(name)],
        "error": "",
    }
    if request.method == "POST":
        try:
            participant = join(params=request.POST, consent=request.POST.get("consent") == "yes")
        except ServiceError as error:
            context["error"] = str(error)
            return render(request, template, context, status=403 if isinstance(error, NotAllowed) else 400)
        remember_participant(request, participant)
        return redirect(next_url)
    return render(request, template, context)


def redirect_to_consent(request, url_name: str, slug: str):
    """Back to the consent page, keeping the link's query (its recruitment parameters)."""
    query = request.META.get("QUERY_STRING", "")
    return redirect(reverse(url_name, args=[slug]) + (f"?{query}" if query else ""))


def session_image(request, *, participant_id, image) -> HttpResponse:
    """A JPEG for the participant it was made for only (`image()` makes its bytes); anyone else, and a missing
    image (`participant_id` None), gets 404. Nothing in the response names a file."""
    joined = request.session.get(SESSION_KEY, {}).values()
    if participant_id is None or str(participant_id) not in joined:
        raise Http404("No such image.")
    response = HttpResponse(image(), content_type="image/jpeg")
    response["Cache-Control"] = "private, max-age=86400"
    return response
