from django.contrib import admin, messages

from webapp.core import services
from webapp.core.models import Enhancement, Job, ModelVersion, Photo


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ["name", "status", "sha256", "created_at", "activated_at"]
    list_filter = ["status"]
    readonly_fields = ["sha256", "checkpoint_path", "config", "styles", "status", "created_at", "activated_at"]
    actions = ["activate"]

    def has_add_permission(self, request):
        return False  # checkpoints are validated and hashed by `manage.py register_model`

    @admin.action(description="Make the selected version the active model")
    def activate(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one version to activate.", messages.ERROR)
            return
        version = services.model_version_activate(version=queryset.get())
        self.message_user(request, f"{version.name} is now the active model.")


@admin.register(Photo)
class PhotoAdmin(admin.ModelAdmin):
    list_display = ["id", "title", "collection", "width", "height", "is_demo", "created_at"]
    list_filter = ["collection", "is_demo"]
    search_fields = ["title", "content_hash"]


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "status", "progress", "model_version", "created_at", "finished_at"]
    list_filter = ["kind", "status"]
    readonly_fields = [field.name for field in Job._meta.fields]


@admin.register(Enhancement)
class EnhancementAdmin(admin.ModelAdmin):
    list_display = ["photo", "model_version", "style", "strength", "seconds", "created_at"]
    list_filter = ["model_version", "style"]
