"""Admin for studies: configuration (methods inline, photos with a filter widget) for researchers and
admins, and read-only participant data. The researcher dashboard (/studies/) covers the same ground."""
from django import forms
from django.contrib import admin

from studies import selectors, services
from studies.models import Study, StudyMethod, StudyParticipant, Trial, TrialOption, Vote
from webapp.core.errors import ServiceError


class StudyMethodInline(admin.TabularInline):
    model = StudyMethod
    fields = ["order", "kind", "style", "label"]
    extra = 0


class StudyAdminForm(forms.ModelForm):
    completion_url = forms.URLField(max_length=500, required=False, assume_scheme="https")
    failed_url = forms.URLField(max_length=500, required=False, assume_scheme="https")

    class Meta:
        model = Study
        fields = "__all__"

    def clean(self):
        """The dashboard's rules that one form can check: voting photos apart from the pool, and enough of them."""
        data = super().clean()
        voting = data.get("voting_photos")
        if voting is not None and self.instance.pk:
            if voting.filter(pk__in=self.instance.picking_round.pool_photos.all()).exists():
                raise forms.ValidationError("Voting photos must not be in the picking pool.")
            needed = (data.get("trials_per_participant") or 0) + (data.get("attention_checks") or 0)
            if voting.count() < needed:
                raise forms.ValidationError(f"Trials and attention checks need {needed} voting photos.")
        return data


@admin.register(Study)
class StudyAdmin(admin.ModelAdmin):
    form = StudyAdminForm
    list_display = ["slug", "title", "is_open", "trials_per_participant", "attention_checks", "participant_quota",
                    "created_at"]
    list_filter = ["is_open"]
    search_fields = ["slug", "title"]
    filter_horizontal = ["voting_photos"]
    readonly_fields = ["picking_round", "trials_assigned", "created_by", "created_at", "updated_at"]
    inlines = [StudyMethodInline]
    actions = ["open_studies", "close_studies"]

    def get_readonly_fields(self, request, obj=None):
        """Settings the trials depend on are fixed once someone has started (as in the services)."""
        fields = list(self.readonly_fields)
        if obj is not None and obj.participants.exists():
            fields += ["voting_photos", "model_version", "trials_per_participant", "attention_checks", "pool_styles",
                       "seed"]
        return fields

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    @admin.action(description="Open the selected studies (after their readiness checks)")
    def open_studies(self, request, queryset):
        for study in queryset:
            try:
                services.study_set_open(study=study, is_open=True)
            except ServiceError as error:
                self.message_user(request, f"{study.slug}: {error}", level="error")

    @admin.action(description="Close the selected studies")
    def close_studies(self, request, queryset):
        for study in queryset:
            services.study_set_open(study=study, is_open=False)

    def has_add_permission(self, request):
        return False  # a study needs its picking round: create it on the dashboard or by importing JSON

    def view_on_site(self, obj):
        return f"/studies/{obj.slug}/"


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(StudyParticipant)
class StudyParticipantAdmin(ReadOnlyAdmin):
    list_display = ["participant", "study", "status", "started_at", "completed_at", "failed_checks"]
    list_filter = ["study"]
    search_fields = ["participant__pseudonym"]

    @admin.display(description="status")
    def status(self, obj):
        return selectors.entry_status(obj)


class TrialOptionInline(admin.TabularInline):
    model = TrialOption
    fields = ["position", "method", "degraded", "image"]
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(Trial)
class TrialAdmin(ReadOnlyAdmin):
    list_display = ["participant", "number", "photo", "is_check", "sequence", "shown_at"]
    list_filter = ["study", "is_check"]
    inlines = [TrialOptionInline]


@admin.register(Vote)
class VoteAdmin(ReadOnlyAdmin):
    list_display = ["trial", "option", "response_ms", "server_ms", "created_at"]
    list_filter = ["trial__study"]
