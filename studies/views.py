"""Pages of studies. Participants: consent, picking (the participant flow's page), trials, the end.
Researchers: dashboard, study form, results with live progress. Trial images are served here, by
option token, to the participant they were made for, with nothing in the response naming a method."""
import json

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from rest_framework.exceptions import ValidationError

from studies import selectors, services
from studies.forms import StudyForm
from studies.permissions import researcher_required
from studies.serializers import StudyConfigSerializer
from webapp.core.errors import ServiceError
from webapp.participants.pages import consent_page, redirect_to_consent, session_image
from webapp.participants.sessions import session_participant

PARTICIPANT_BASE = "studies/participant_base.html"  # the pages participants see name no platform or method


def _study_or_404(slug: str):
    study = selectors.study_get(slug)
    if study is None:
        raise Http404("No such study.")
    return study


# --- Participants -------------------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
def consent(request, slug: str):
    study = _study_or_404(slug)
    current = session_participant(request, study.picking_round)

    def join(params, consent: bool):
        return services.study_join(study=study, params=params, consent=consent, current=current).participant

    return consent_page(request, template="studies/consent.html", context={"study": study, "participant": current},
                        join=join, next_url=reverse("studies:pick", args=[slug]))


def _participant_or_consent(request, study):
    participant = session_participant(request, study.picking_round)
    if participant is None:
        return None, redirect_to_consent(request, "studies:consent", study.slug)
    return participant, None


@never_cache
@ensure_csrf_cookie
@require_GET
def pick(request, slug: str):
    """The participant flow's picking page, for the study's round, leading on to the trials."""
    study = _study_or_404(slug)
    participant, response = _participant_or_consent(request, study)
    if response:
        return response
    if participant.finished_at is not None:
        return redirect("studies:vote", slug=slug)
    context = {"round": study.picking_round, "participant": participant, "active_model": study.model_version,
               "next_page": reverse("studies:vote", args=[slug]), "base_template": PARTICIPANT_BASE}
    return render(request, "participants/pick.html", context)


@never_cache
@ensure_csrf_cookie
@require_GET
def vote(request, slug: str):
    study = _study_or_404(slug)
    participant, response = _participant_or_consent(request, study)
    if response:
        return response
    if participant.finished_at is None:
        return redirect("studies:pick", slug=slug)
    entry = services.study_entry_for(participant, study)
    if entry.completed_at is not None:
        return redirect("studies:done", slug=slug)
    return render(request, "studies/vote.html", {"study": study, "participant": participant})


@never_cache
@require_GET
def done(request, slug: str):
    study = _study_or_404(slug)
    participant, response = _participant_or_consent(request, study)
    if response:
        return response
    entry = services.study_entry_for(participant, study)
    if entry.completed_at is None:
        return redirect("studies:vote", slug=slug)
    state = selectors.participant_state(entry)
    return render(request, "studies/done.html", {"study": study, "participant": participant, "done": state["done"]})


@require_GET
def option_image(request, token: str):
    """An option's image by its per-trial token, for its participant only, in their variant; bytes and
    headers say nothing but "a JPEG" (no file name, no metadata, no validators derived from the file)."""
    option = selectors.option_by_token(token)
    owner = option.trial.participant.participant_id if option is not None and option.image else None
    return session_image(request, participant_id=owner, image=lambda: services.option_image(option=option))


# --- Researchers --------------------------------------------------------------------------------


@researcher_required
@require_GET
def dashboard(request):
    return render(request, "studies/dashboard.html", {"studies": selectors.study_list()})


@researcher_required
@require_http_methods(["GET", "POST"])
def study_form(request, slug: str | None = None):
    study = _study_or_404(slug) if slug else None
    initial = StudyForm.initial_for(study) if study else None
    form = StudyForm(request.POST or None, study=study, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            study = services.study_configure(config=form.to_config(), study=study, user=request.user)
        except ServiceError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, "Study saved.")
            return redirect("studies:results", slug=study.slug)
    return render(request, "studies/form.html", {"form": form, "study": study}, status=400 if form.errors else 200)


@researcher_required
@require_POST
def study_import(request):
    upload = request.FILES.get("config")
    try:
        data = json.loads(upload.read().decode("utf-8")) if upload else None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        data, problem = None, f"The file is not JSON: {error}"
    else:
        problem = "" if isinstance(data, dict) else "Choose an exported study configuration (a .json file)."
    if not problem:
        serializer = StudyConfigSerializer(data=data)
        try:
            serializer.is_valid(raise_exception=True)
            study = services.study_configure(config=serializer.validated_data, user=request.user)
        except ValidationError as error:
            problem = "; ".join(f"{field}: {' '.join(map(str, errors if isinstance(errors, list) else [errors]))}"
                                for field, errors in error.detail.items())
        except ServiceError as error:
            problem = str(error)
        else:
            messages.success(request, f"Imported “{study.title}”. It is closed until you open it.")
            return redirect("studies:results", slug=study.slug)
    return render(request, "studies/dashboard.html", {"studies": selectors.study_list(), "import_error": problem},
                  status=400)


@researcher_required
@require_POST
def study_action(request, slug: str):
    study = _study_or_404(slug)
    action = request.POST.get("action")
    try:
        if action in ("open", "close"):
            services.study_set_open(study=study, is_open=action == "open")
            messages.success(request, "The study is open." if action == "open" else "The study is closed.")
        elif action == "prepare":
            services.study_prepare_pool(study=study)
            messages.success(request, "Rendering the picking candidates: the bar below shows how far it is.")
        else:
            messages.error(request, "Unknown action.")
    except ServiceError as error:
        messages.error(request, str(error))
    return redirect("studies:results", slug=slug)


def chart(tally: dict, width: int = 640, bar: int = 30, gap: int = 14) -> dict:
    """Geometry of the results chart (inline SVG): one bar per method with its Wilson interval."""
    label_width, top, value_room = 190, 8, 96  # room right of the longest bar for "votes · share", e.g. "999 · 100.0%"
    plot = width - label_width - value_room
    rows = []
    for index, method in enumerate(tally["methods"]):
        y = top + index * (bar + gap)
        rows.append({
            "label": method["method"], "y": y, "text_y": y + bar / 2 + 5, "mid": y + bar / 2,
            "width": round(plot * method["share"], 1), "low": round(label_width + plot * method["low"], 1),
            "high": round(label_width + plot * method["high"], 1), "votes": method["votes"],
            "share": round(100 * method["share"], 1), "value_x": round(label_width + plot * method["high"] + 6, 1),
        })
    height = top + len(rows) * (bar + gap) + 24
    ticks = [{"x": round(label_width + plot * value / 100, 1), "value": value} for value in range(0, 101, 25)]
    equal = round(label_width + plot / max(1, len(rows)), 1)  # every method's share if all were equally liked
    return {"rows": rows, "width": width, "height": height, "x0": label_width, "bar": bar, "ticks": ticks,
            "axis_y": height - 20, "equal": equal}


def _interval(low: float, high: float, digits: int = 2) -> str:
    return f"[{low:.{digits}f}, {high:.{digits}f}]"


def results_tables(tally: dict) -> dict:
    """The tally's numbers as table rows (the template cannot index lists by position)."""
    models = tally.get("choice_models") or {}
    pl, bt = models.get("plackett_luce"), models.get("bradley_terry")
    methods_table = []
    for index, method in enumerate(tally["methods"]):
        methods_table.append({
            "method": method["method"], "votes": method["votes"], "share": f"{100 * method['share']:.1f}%",
            "wilson": _interval(100 * method["low"], 100 * method["high"], 1) + " %",
            "pl": f"{pl['score'][index]:+.2f} {_interval(pl['low'][index], pl['high'][index])}" if pl else "–",
            "pl_probability": f"{100 * pl['probability'][index]:.1f}%" if pl else "–",
            "bt": f"{bt['score'][index]:+.2f} {_interval(bt['low'][index], bt['high'][index])}" if bt else "–",
        })
    participant_rows = [
        {**row, "counts": list(row["by_method"].values()),
         "median_seconds": f"{row['median_response_ms'] / 1000:.1f}" if row["median_response_ms"] is not None else "–"}
        for row in tally["participants"]
    ]
    return {"methods_table": methods_table, "participant_rows": participant_rows,
            "bootstrap": pl["bootstrap"] if pl else 0}


@researcher_required
@require_GET
def results(request, slug: str):
    study = _study_or_404(slug)
    tally = selectors.study_tally(study)
    context = {
        "study": study, "tally": tally, "chart": chart(tally), "problems": selectors.study_problems(study),
        "warnings": selectors.study_warnings(study), "pool_job": selectors.pool_job(study),
        "config": selectors.study_config(study), **results_tables(tally),
    }
    template = "studies/_results.html" if request.GET.get("fragment") else "studies/results.html"
    return render(request, template, context)
