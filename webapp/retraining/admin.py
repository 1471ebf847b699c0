"""Retraining in the admin: start a run (with the label counts and the minimum in view), follow its
progress and log, cancel it, read its evaluation next to the active model's, and promote its candidate."""
import json

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.views.decorators.http import require_POST

from webapp.core import selectors as core_selectors
from webapp.core.models import ModelVersion
from webapp.core.permissions import is_model_admin
from webapp.core.errors import ServiceError
from webapp.retraining import selectors, services
from webapp.retraining.models import RetrainingRun
from webapp.retraining.selectors import MIN_NON_PICKS


PRE = '<pre style="max-height:30em;max-width:100%;overflow:auto">{}</pre>'


class RunRequestForm(forms.Form):
    from_scratch = forms.BooleanField(
        required=False, help_text="Fresh networks with the active model's sizes instead of fine-tuning its weights.",
    )
    recipe = forms.JSONField(
        required=False, initial=dict, widget=forms.Textarea(attrs={"rows": 4, "cols": 80}),
        help_text='Overrides of the recipe below, e.g. {"pienet": {"steps": 2000}}; empty: the defaults.',
    )


def _number(value, digits: int) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _difference(candidate, active, digits: int) -> str:
    if candidate is None or active is None:
        return ""
    return f"{candidate - active:+.{digits}f}"


@admin.register(RetrainingRun)
class RetrainingRunAdmin(admin.ModelAdmin):
    list_display = ["short_id", "status", "stage", "progress_bar", "from_scratch", "base_version",
                    "candidate_version", "requested_by", "created_at"]
    list_filter = ["status", "from_scratch"]
    actions = ["cancel_runs"]
    fieldsets = [
        (None, {"fields": ["status", "stage", "progress_bar", "error", "from_scratch", "base_version",
                           "candidate_link", "requested_by", "cancel_requested", "created_at", "started_at",
                           "finished_at", "attempts"]}),
        ("Evaluation (held-out labels and unseen-user benchmark)", {"fields": ["evaluation"]}),
        ("Data snapshot", {"fields": ["snapshot"]}),
        ("Recipe", {"fields": ["recipe_text"]}),
        ("Log", {"fields": ["log_text", "out_dir"]}),
    ]
    readonly_fields = ["progress_bar", "candidate_link", "evaluation", "snapshot", "recipe_text", "log_text"]

    # Only admins see and act on runs; runs are changed by the service, never edited by hand.
    def has_module_permission(self, request):
        return is_model_admin(request.user)

    def has_view_permission(self, request, obj=None):
        return is_model_admin(request.user)

    def has_add_permission(self, request):
        return is_model_admin(request.user)

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_cancel_permission(self, request):
        return is_model_admin(request.user)

    @admin.display(description="run")
    def short_id(self, run: RetrainingRun) -> str:
        return str(run.pk)[:8]

    @admin.display(description="progress")
    def progress_bar(self, run: RetrainingRun) -> str:
        return format_html('<progress max="100" value="{}" style="width:8em"></progress> {}%', run.progress,
                           run.progress)

    @admin.display(description="candidate version")
    def candidate_link(self, run: RetrainingRun) -> str:
        version = run.candidate_version
        if version is None:
            return "–"
        url = reverse("admin:core_modelversion_change", args=[version.pk])
        return format_html('<a href="{}">{}</a> ({})', url, version.name, version.status)

    @admin.display(description="side by side")
    def evaluation(self, run: RetrainingRun) -> str:
        if not run.metrics:
            return "Not evaluated yet." if run.in_progress else "No evaluation (the run did not finish)."
        heldout, benchmark = run.metrics["heldout"], run.metrics["benchmark"]
        candidate, active = heldout["candidate"], heldout.get("active") or {}
        rows = [
            ("Held-out AUC (picks ranked above non-picks)", candidate.get("auc"), active.get("auc"), 3),
            ("Held-out PSNR of picked renderings (dB)", candidate.get("psnr"), active.get("psnr"), 2),
            ("… the untouched photo, for reference (dB)", candidate.get("identity_psnr"),
             active.get("identity_psnr"), 2),
        ]
        if "skipped" not in benchmark:
            rows += [
                ("Unseen users: mPSNR (dB)", benchmark["candidate"]["mpsnr"], benchmark.get("active", {}).get("mpsnr"), 2),
                ("Unseen users: mSSIM", benchmark["candidate"]["mssim"], benchmark.get("active", {}).get("mssim"), 4),
                ("Unseen users: mΔE (lower is better)", benchmark["candidate"]["mdelta_e"],
                 benchmark.get("active", {}).get("mdelta_e"), 2),
            ]
        body = format_html_join(
            "", "<tr><th>{}</th><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((label, _number(value, digits), _number(reference, digits), _difference(value, reference, digits))
             for label, value, reference, digits in rows),
        )
        notes = format_html(
            "<p>{} participants evaluated ({} with both held-out picks and non-picks), {} held-out pairs. {}</p>",
            candidate["participants"], candidate["auc_participants"], candidate["psnr_pairs"],
            benchmark.get("skipped", f"Benchmark: test users of {benchmark.get('data')}."),
        )
        header = format_html("<tr><th></th><th>candidate</th><th>active: {}</th><th>difference</th></tr>",
                             run.metrics.get("active_version") or "none")
        return format_html('<table class="retraining-evaluation">{}{}</table>{}', header, body, notes)

    @admin.display(description="labels used")
    def snapshot(self, run: RetrainingRun) -> str:
        if not run.data_snapshot:
            return "–"
        return format_html(PRE, json.dumps(run.data_snapshot, indent=2, sort_keys=True))

    @admin.display(description="recipe")
    def recipe_text(self, run: RetrainingRun) -> str:
        return format_html(PRE, json.dumps(run.recipe, indent=2, sort_keys=True))

    @admin.display(description="log")
    def log_text(self, run: RetrainingRun) -> str:
        return format_html(PRE, run.log or "(empty)")

    def get_urls(self):
        return [
            path("start/", self.admin_site.admin_view(self.start_view), name="retraining_retrainingrun_start"),
            path("<uuid:pk>/cancel/", self.admin_site.admin_view(require_POST(self.cancel_view)),
                 name="retraining_retrainingrun_cancel"),
            *super().get_urls(),
        ]

    def add_view(self, request, form_url="", extra_context=None):
        return HttpResponseRedirect(reverse("admin:retraining_retrainingrun_start"))

    def start_view(self, request):
        """The form that starts a run: a service call, not a model form (runs are never edited by hand)."""
        if not is_model_admin(request.user):
            return HttpResponseRedirect(reverse("admin:index"))
        form = RunRequestForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                run, created = services.run_request(user=request.user, from_scratch=form.cleaned_data["from_scratch"],
                                                    recipe=form.cleaned_data["recipe"] or {})
            except ServiceError as error:
                form.add_error(None, str(error))
            else:
                self.message_user(request, "Retraining run queued." if created else
                                  "This exact request was made already: here is its run.", messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:retraining_retrainingrun_change", args=[run.pk]))
        summary = selectors.label_summary()
        from ml.training.finetune import FinetuneRecipe

        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta, "title": "Start a retraining run", "form": form, "summary": summary,
            "active": core_selectors.active_model_version(), "in_progress": selectors.run_in_progress(),
            "minimum": {"participants": settings.PIENET_RETRAIN_MIN_PARTICIPANTS,
                        "picks": settings.PIENET_RETRAIN_MIN_PICKS,
                        "per_participant": settings.PIENET_RETRAIN_MIN_PICKS_PER_PARTICIPANT,
                        "non_picks": MIN_NON_PICKS},
            "defaults": json.dumps(FinetuneRecipe.from_dict(settings.PIENET_RETRAIN_RECIPE).to_dict(), indent=2,
                                   sort_keys=True),
        }
        return TemplateResponse(request, "admin/retraining/retrainingrun/start.html", context)

    def cancel_view(self, request, pk):
        run = get_object_or_404(RetrainingRun, pk=pk)
        if not is_model_admin(request.user):
            self.message_user(request, "Only admins may cancel runs.", messages.ERROR)
        else:
            try:
                run = services.run_cancel(run=run, user=request.user)
                self.message_user(request, "Cancelled." if run.status == RetrainingRun.Status.CANCELLED else
                                  "Cancelling: the run stops at its next step.")
            except ServiceError as error:
                self.message_user(request, str(error), messages.ERROR)
        return HttpResponseRedirect(reverse("admin:retraining_retrainingrun_change", args=[pk]))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        run = self.get_object(request, object_id)
        extra = {"run": run, "promotable": bool(run and run.candidate_version
                                                and run.candidate_version.status == ModelVersion.Status.CANDIDATE)}
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), **extra})

    @admin.action(description="Cancel the selected runs", permissions=["cancel"])
    def cancel_runs(self, request, queryset):
        for run in queryset:
            try:
                services.run_cancel(run=run, user=request.user)
            except ServiceError as error:
                self.message_user(request, f"{str(run.pk)[:8]}: {error}", messages.WARNING)
