"""The rate limit of participants' API requests (picking and studies' trials), counted per client address."""

from webapp.core.throttles import ClientRateThrottle


class ParticipantThrottle(ClientRateThrottle):
    """Participants in one lab share an address and a session makes a few hundred requests."""

    scope = "participant"
