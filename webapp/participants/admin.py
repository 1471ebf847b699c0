from django.contrib import admin

from webapp.participants.models import Candidate, Participant, PickingRound, PickSet, PreferenceVector, SetItem


@admin.register(PickingRound)
class PickingRoundAdmin(admin.ModelAdmin):
    list_display = ["slug", "title", "min_picks", "max_picks", "set_size", "scheme", "is_open", "created_at"]
    list_filter = ["is_open", "scheme"]
    prepopulated_fields = {"slug": ["title"]}


@admin.register(Candidate)
class CandidateAdmin(admin.ModelAdmin):
    list_display = ["id", "photo", "kind", "style", "model_version", "embedding_model_version", "created_at"]
    list_filter = ["kind", "style", "embedding_model_version"]
    readonly_fields = ["embedding"]


@admin.register(Participant)
class ParticipantAdmin(admin.ModelAdmin):
    list_display = ["pseudonym", "picking_round", "source", "consented_at", "finished_at"]
    list_filter = ["picking_round", "source"]
    search_fields = ["pseudonym", "recruitment_id"]
    readonly_fields = ["pseudonym", "recruitment_id", "recruitment_params", "consented_at", "finished_at"]


class SetItemInline(admin.TabularInline):
    model = SetItem
    fields = ["position", "candidate", "liked", "decided_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(PickSet)
class PickSetAdmin(admin.ModelAdmin):
    list_display = ["participant", "number", "created_at", "submitted_at"]
    inlines = [SetItemInline]


@admin.register(SetItem)
class SetItemAdmin(admin.ModelAdmin):
    """The labels: every pick and non-pick with participant, candidate, set and time."""

    list_display = ["pick_set", "candidate", "liked", "decided_at"]
    list_filter = ["liked", "candidate__kind"]
    readonly_fields = ["pick_set", "candidate", "photo", "position", "token", "liked", "decided_at"]


@admin.register(PreferenceVector)
class PreferenceVectorAdmin(admin.ModelAdmin):
    list_display = ["participant", "model_version", "scheme", "consistency", "positives", "negatives", "created_at"]
    list_filter = ["model_version", "scheme"]
    readonly_fields = ["vector"]
