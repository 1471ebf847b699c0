"""Counterbalancing: over the study, every method sits in every position equally often (exactly, per
completed block of k counted trials), while each trial's order is random."""
import threading
from collections import Counter

import pytest
from django.db import connection, connections
from django.utils import timezone

from studies import design, services
from studies.models import StudyParticipant, Trial, TrialOption
from webapp.participants.models import Participant

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("size", [2, 3, 4, 6, 7])
def test_each_block_of_latin_rows_is_a_latin_square(size):
    for seed in (0, 12345):
        for block in range(5):
            rows = [design.latin_row(seed, block * size + row, size) for row in range(size)]
            assert all(sorted(row) == list(range(size)) for row in rows)  # each trial shows every method once
            for position in range(size):
                assert sorted(row[position] for row in rows) == list(range(size))  # each method once per position
    orders = {tuple(design.latin_row(7, sequence, size)) for sequence in range(20 * size)}
    assert len(orders) > (1 if size == 2 else size)  # random across blocks, not one fixed cyclic square


def test_latin_rows_depend_only_on_study_seed_and_sequence():
    assert design.latin_row(5, 17, 6) == design.latin_row(5, 17, 6)
    assert [design.latin_row(5, s, 6) for s in range(12)] != [design.latin_row(6, s, 6) for s in range(12)]


def entry_for(study) -> StudyParticipant:
    participant = Participant.objects.create(picking_round=study.picking_round, consented_at=timezone.now(),
                                             finished_at=timezone.now())
    return StudyParticipant.objects.create(participant=participant, study=study)


def cells(study) -> Counter:
    return Counter(TrialOption.objects.filter(trial__study=study, trial__is_check=False)
                   .values_list("method__label", "position"))


@pytest.mark.parametrize("participants,exact", [(8, True), (7, False)])
def test_trials_handed_out_to_participants_are_counterbalanced(study, participants, exact,
                                                               django_capture_on_commit_callbacks):
    methods = list(study.methods.all())  # 4 methods, 3 counted trials + 1 check each
    with django_capture_on_commit_callbacks(execute=False):
        for _ in range(participants):
            services.trials_create(entry_for(study), methods)
    counted = Trial.objects.filter(study=study, is_check=False)
    assert counted.count() == 3 * participants
    assert sorted(counted.values_list("sequence", flat=True)) == list(range(3 * participants))
    counts = cells(study)
    assert len(counts) == 16  # every (method, position) occurs
    if exact:  # 24 counted trials = 6 whole blocks of 4: each method 6 times in each position
        assert set(counts.values()) == {6}
    else:  # 21 trials: 5 whole blocks and one row of the sixth
        assert set(counts.values()) <= {5, 6} and sum(counts.values()) == 84
    orders = {tuple(trial.options.order_by("position").values_list("method__label", flat=True)) for trial in counted}
    assert len(orders) >= 6
    checks = Trial.objects.filter(study=study, is_check=True)
    assert checks.count() == participants and all(c.number > 1 for c in checks)
    assert all(c.options.filter(degraded=True).count() == 1 for c in checks)
    for entry in StudyParticipant.objects.filter(study=study):  # each photo once per participant, never a pool photo
        photos = list(entry.trials.values_list("photo_id", flat=True))
        assert len(set(photos)) == 4
        assert not set(photos) & set(study.picking_round.pool_photos.values_list("pk", flat=True))


@pytest.mark.django_db(transaction=True)
def test_concurrent_participants_get_distinct_sequence_numbers(study, django_capture_on_commit_callbacks):
    if connection.vendor != "postgresql":
        pytest.skip("row locks are tested against PostgreSQL")
    entries = [entry_for(study) for _ in range(6)]
    methods = list(study.methods.all())
    barrier = threading.Barrier(len(entries))

    def run(entry):
        try:
            barrier.wait()
            services.trials_create(entry, methods)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(entry,)) for entry in entries]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    sequences = sorted(Trial.objects.filter(study=study, is_check=False).values_list("sequence", flat=True))
    assert sequences == list(range(18))
    study.refresh_from_db()
    assert study.trials_assigned == 18
    assert set(cells(study).values()) <= {4, 5}  # 18 trials: 4 whole blocks and half of a fifth
