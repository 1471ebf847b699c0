"""Reactions to platform events: after a model switch, participants' vectors follow the new embedding."""
from django.dispatch import receiver

from webapp.core.signals import model_activated
from webapp.participants import services


@receiver(model_activated, dispatch_uid="participants_recompute_on_switch")
def recompute_vectors_for_new_model(sender, version, previous, **kwargs):
    services.preferences_recompute_request(model_version=version)
