"""Signals feature apps listen to, so that core never imports them."""
from django.dispatch import Signal

# Sent by `manage.py seed_demo` after the demo photos and model are in place; receivers add their
# own demo content (e.g. a participant round). Arguments: photos (list of Photo), stdout (a stream).
demo_seeded = Signal()

# Sent after the commit that switched the active model (not when it was active already).
# Arguments: version (the new active ModelVersion), previous (the one it replaced, or None).
model_activated = Signal()
