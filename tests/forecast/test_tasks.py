"""The weekly retraining is wired into both the in-process scheduler and Celery beat."""

from __future__ import annotations

import pytest

from salesradar.config import jobs
from salesradar.config.celery import app, beat_schedule
from salesradar.forecast import tasks
from salesradar.forecast.models import ModelRecord
from tests.forecast.history import build_history


def test_scheduler_and_beat_both_check_for_the_weekly_retraining():
    scheduled = {job.name: job for job in jobs.default_scheduler().jobs}

    assert scheduled["model-retrain"].run is jobs.retrain_models
    entry = beat_schedule()["model-retrain"]
    assert entry["task"] == tasks.retrain_models.name
    assert tasks.retrain_models.name in app.tasks


@pytest.mark.django_db
def test_the_beat_task_trains_when_no_model_exists_and_leaves_a_fresh_one_alone(
    default_process, monkeypatch
):
    trained_at = build_history(default_process)
    monkeypatch.setattr("django.utils.timezone.now", lambda: trained_at)

    assert tasks.retrain_models.apply().get() == 2
    assert tasks.retrain_models.apply().get() == 0
    assert ModelRecord.objects.filter(trained_by="celery-beat").count() == 2
