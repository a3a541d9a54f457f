"""The Django admin lists every model of the app; what the app owns the writes of, and the audit log, are read-only there."""

from __future__ import annotations

import pytest
from auditlog.models import LogEntry
from django.apps import apps
from django.contrib import admin
from django.test import RequestFactory

from inspection.models import Activation, Inspection, ModelVersion, ReviewItem, ThresholdSetting
from tests.platform.factories import ProductFactory, UserFactory


def test_every_model_of_the_app_is_in_the_admin():
    models = apps.get_app_config("inspection").get_models()
    assert [model.__name__ for model in models if not admin.site.is_registered(model)] == []


@pytest.mark.django_db
@pytest.mark.parametrize("model", [ModelVersion, ThresholdSetting, Activation, Inspection, ReviewItem, LogEntry])
def test_app_owned_models_and_the_audit_log_cannot_be_changed_in_the_admin_even_by_a_superuser(model):
    request = RequestFactory().get("/admin/")
    request.user = UserFactory(is_superuser=True, is_staff=True)
    model_admin = admin.site._registry[model]
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)


@pytest.mark.django_db
def test_the_audit_log_page_of_the_admin_opens_for_a_superuser(client):
    ProductFactory()
    client.force_login(UserFactory(is_superuser=True, is_staff=True))
    response = client.get("/admin/auditlog/logentry/")
    assert response.status_code == 200
    entry = LogEntry.objects.first()
    assert client.post(f"/admin/auditlog/logentry/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    assert LogEntry.objects.filter(pk=entry.pk).exists()
