from django.apps import AppConfig


class RetrainingConfig(AppConfig):
    """Admins retrain the model from participants' labels, evaluate it, and promote or roll back."""

    name = "webapp.retraining"
    label = "retraining"
    verbose_name = "Retraining"
