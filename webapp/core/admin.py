from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from ml.images import ImageError, load_image_uint8
from webapp.core import services
from webapp.core.models import AuditEvent, Enhancement, Job, ModelVersion, Photo
from webapp.core.permissions import is_model_admin


def headline_metrics(version: ModelVersion) -> str:
    """Held-out AUC and PSNR of a retrained version (what an admin compares before promoting)."""
    heldout = version.metrics.get("heldout", {}).get("candidate") if isinstance(version.metrics, dict) else None
    if not heldout:
        return "–"
    parts = [f"AUC {heldout['auc']:.3f}" if heldout.get("auc") is not None else "",
             f"PSNR {heldout['psnr']:.2f} dB" if heldout.get("psnr") is not None else ""]
    return " · ".join(part for part in parts if part) or "–"


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ["name", "status", "held_out", "parent", "activated_at", "created_at"]
    list_filter = ["status"]
    readonly_fields = [
        "sha256", "checkpoint_path", "config", "styles", "status", "parent", "recipe", "data_snapshot",
        "created_by", "created_at", "activated_at",
    ]
    actions = ["activate"]

    def has_add_permission(self, request):
        return False  # checkpoints are validated and hashed by `manage.py register_model`

    def has_switch_permission(self, request) -> bool:
        return is_model_admin(request.user)

    @admin.display(description="held-out metrics")
    def held_out(self, version: ModelVersion) -> str:
        return headline_metrics(version)

    def get_list_display(self, request):
        """Admins get a one-click Promote / Roll back button on every version that can take over."""
        if not is_model_admin(request.user):
            return self.list_display
        token = get_token(request)

        @admin.display(description="switch")
        def switch(version: ModelVersion):
            if version.status == ModelVersion.Status.CANDIDATE:
                label, name = "Promote", "admin:core_modelversion_promote"
            elif version.status == ModelVersion.Status.RETIRED and version.activated_at:
                label, name = "Roll back to this", "admin:core_modelversion_rollback"
            else:
                return ""
            return format_html(
                '<form method="post" action="{}" style="margin:0"><input type="hidden" name="csrfmiddlewaretoken" '
                'value="{}"><button type="submit" class="button">{}</button></form>',
                reverse(name, args=[version.pk]), token, label,
            )

        return [*self.list_display[:2], switch, *self.list_display[2:]]  # beside the status, not off-screen

    def get_urls(self):
        def switch_view(service, verb):
            @require_POST
            def view(request, pk):
                if not is_model_admin(request.user):
                    self.message_user(request, "Only admins may switch the served model.", messages.ERROR)
                else:
                    version = get_object_or_404(ModelVersion, pk=pk)
                    try:
                        service(version=version, actor=request.user)
                        self.message_user(request, f"{version.name} {verb}: it now serves every new job.")
                    except services.ServiceError as error:
                        self.message_user(request, str(error), messages.ERROR)
                return HttpResponseRedirect(reverse("admin:core_modelversion_changelist"))

            return self.admin_site.admin_view(view)

        return [
            path("<int:pk>/promote/", switch_view(services.model_version_promote, "promoted"),
                 name="core_modelversion_promote"),
            path("<int:pk>/rollback/", switch_view(services.model_version_rollback, "restored"),
                 name="core_modelversion_rollback"),
            *super().get_urls(),
        ]

    @admin.action(description="Make the selected version the active model", permissions=["switch"])
    def activate(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one version to activate.", messages.ERROR)
            return
        version = services.model_version_activate(version=queryset.get(), actor=request.user)
        self.message_user(request, f"{version.name} is now the active model.")


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """The audit log: read-only, for everyone who may see it."""

    list_display = ["created_at", "actor_name", "action", "model_version", "previous_version"]
    list_filter = ["action"]
    search_fields = ["actor_name", "model_version__name"]
    readonly_fields = [field.name for field in AuditEvent._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class PhotoUploadForm(forms.ModelForm):
    """Adding a photo in the admin uploads a file; the service stores it once per content hash."""

    upload = forms.FileField(help_text="A photo file (JPEG, PNG, WebP, TIFF); the same content is stored once.")

    class Meta:
        model = Photo
        fields = ["title", "collection"]

    def clean_upload(self):
        upload = self.cleaned_data["upload"]
        if upload.size > settings.PIENET_MAX_UPLOAD_BYTES:
            raise forms.ValidationError(f"The file is larger than {settings.PIENET_MAX_UPLOAD_BYTES} bytes.")
        try:
            load_image_uint8(upload.read(), max_pixels=settings.PIENET_MAX_UPLOAD_PIXELS)
        except ImageError as error:
            raise forms.ValidationError(str(error)) from None
        upload.seek(0)
        return upload


@admin.register(Photo)
class PhotoAdmin(admin.ModelAdmin):
    list_display = ["id", "title", "collection", "width", "height", "is_demo", "created_at"]
    list_filter = ["collection", "is_demo"]
    search_fields = ["title", "content_hash"]

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = PhotoUploadForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        return ["upload", "title", "collection"] if obj is None else super().get_fields(request, obj)

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        upload = form.cleaned_data["upload"]
        photo, _ = services.photo_create(
            data=upload.read(), title=obj.title or upload.name, collection=obj.collection or "upload"
        )
        obj.pk = photo.pk
        obj.refresh_from_db()


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "status", "progress", "model_version", "created_at", "finished_at"]
    list_filter = ["kind", "status"]
    readonly_fields = [field.name for field in Job._meta.fields]


@admin.register(Enhancement)
class EnhancementAdmin(admin.ModelAdmin):
    list_display = ["photo", "model_version", "style", "strength", "seconds", "created_at"]
    list_filter = ["model_version", "style"]
