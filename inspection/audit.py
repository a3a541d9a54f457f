"""The audit log: which models django-auditlog follows, who the actor is, and failed sign-ins.

`register_audited_models()` runs once from the app's ready(). Each entry
carries the product it belongs to in `additional_data["product_id"]`, so the
log can be filtered by product even after the object itself was deleted.
Entries are only ever written here and by auditlog's signal handlers; the app
offers no way to change or delete them.
"""

from __future__ import annotations

from auditlog.middleware import AuditlogMiddleware
from auditlog.models import LogEntry
from auditlog.registry import auditlog
from celery.signals import task_prerun
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_login_failed
from django.contrib.contenttypes.models import ContentType
from django.utils.functional import SimpleLazyObject

SIGN_IN_FAILED = "sign_in_failed"


class AuditActorMiddleware(AuditlogMiddleware):
    """auditlog's middleware, but the actor is looked up when an entry is written.

    An API call signs in with its token inside the DRF view, after every
    middleware has run; reading `request.user` only when the entry is written
    finds that user instead of the anonymous one.
    """

    @staticmethod
    def _get_actor(request):
        user_model = get_user_model()

        def signed_in_user():
            user = getattr(request, "user", None)
            return user if isinstance(user, user_model) and user.is_authenticated else None

        return SimpleLazyObject(signed_in_user)


def _product_of(attribute_path: str):
    """additional_data for a model whose product is reached through `attribute_path`."""

    def additional_data(instance) -> dict:
        target = instance
        for name in attribute_path.split("."):
            target = getattr(target, name, None)
            if target is None:
                return {}
        return {"product_id": target}

    return additional_data


def _activation_data(activation) -> dict:
    """An activation with the operating point the version had when it was activated."""
    # Recorded on the activation itself (read by id: while a product is deleted the setting may be gone
    # already); older activations did not name theirs, so the version's newest stands in.
    setting = activation.version.threshold_settings.filter(pk=activation.operating_point_id).first()
    if setting is None:
        setting = activation.version.threshold_settings.order_by("-set_at", "-pk").first()
    operating_point = None
    if setting is not None:
        operating_point = {
            "threshold": setting.threshold,
            "band_lower": setting.band_lower,
            "band_upper": setting.band_upper,
            "setting_id": setting.pk,
        }
    return {
        "product_id": activation.product_id,
        "version": activation.version.number,
        "operating_point": operating_point,
    }


def register_audited_models() -> None:
    from inspection.models import (
        Activation,
        Annotation,
        DefectType,
        Image,
        Job,
        ModelVersion,
        Product,
        ReviewItem,
        ThresholdSetting,
    )

    # auditlog asks each instance for get_additional_data(); giving the models
    # that method here keeps the audit concern out of the model modules.
    product_paths = {
        Product: "pk",
        Image: "product_id",
        DefectType: "product_id",
        Annotation: "image.product_id",
        ModelVersion: "product_id",
        ThresholdSetting: "product_id",
        ReviewItem: "product_id",
        Job: "product_id",
    }
    for model, path in product_paths.items():
        model.get_additional_data = _product_of(path)
    Activation.get_additional_data = _activation_data

    # Deleted products and images keep their name and checksum in the entry's serialized copy.
    auditlog.register(Product, exclude_fields=["updated_at", "registration_revision"], serialize_data=True)
    # What the worker writes while registering an image is machinery, not a person's change.
    auditlog.register(
        Image,
        include_fields=["original_name", "checksum", "label", "defect_type", "split", "product"],
        serialize_data=True,
    )
    auditlog.register(DefectType)
    auditlog.register(Annotation)
    # Progress is rewritten every epoch; status changes (queued, running, cancelled, done) are kept.
    auditlog.register(
        ModelVersion, include_fields=["status", "method", "params", "error", "flagged_damaged", "product"]
    )
    # Jobs show who started or cancelled a registration, training or batch inspection; the
    # services move a training's own status with a conditional update that sends no signal.
    auditlog.register(Job, include_fields=["kind", "status", "cancel_requested", "product"])
    auditlog.register(ThresholdSetting)
    auditlog.register(Activation)
    # Inspections are the line's output, not a change to the setup: a part a second would
    # bury the log. Who started a batch is in its job's entry.
    auditlog.register(
        ReviewItem, include_fields=["status", "claimed_by", "decision", "defect_type", "note", "decided_by"]
    )
    user_model = get_user_model()
    auditlog.register(
        user_model,
        exclude_fields=["last_login"],
        mask_fields=["password"],
        mask_callable="inspection.audit.hidden",
        m2m_fields={"groups", "user_permissions"},
    )
    user_login_failed.connect(record_sign_in_failure, dispatch_uid="inspection-audit-sign-in-failed")
    task_prerun.connect(_forget_content_types, dispatch_uid="inspection-audit-content-types", weak=False)


def _forget_content_types(**kwargs) -> None:
    """Each job looks up the content types its audit entries point to afresh: a worker lives
    long, and content types recreated meanwhile (a database flushed and migrated again, as
    the test suite does) would leave its cached ids pointing at nothing."""
    ContentType.objects.clear_cache()


def hidden(value) -> str:
    """What an entry shows of a password hash: that it changed, not any part of it
    (auditlog's own mask keeps the last half)."""
    return "(hidden)"


def record_field_change(instance, *, field: str, before: str, after: str) -> None:
    """An entry for a change the object's own fields do not show, such as an API token issued
    or revoked (the token is not audited as a model: its primary key is the secret itself)."""
    LogEntry.objects.log_create(
        instance, action=LogEntry.Action.UPDATE, changes={field: [before, after]}, force_log=True
    )


def record_bulk_update(originals: dict, changed: list) -> None:
    """Entries for objects changed together by bulk_update(), which sends no signals:
    `originals` maps each pk to a copy taken before the change."""
    from auditlog.diff import model_instance_diff

    for instance in changed:
        changes = model_instance_diff(originals.get(instance.pk), instance)
        if changes:
            LogEntry.objects.log_create(instance, action=LogEntry.Action.UPDATE, changes=changes)


def record_sign_in_failure(sender, credentials: dict, request=None, **kwargs) -> None:
    """A failed sign-in, on the web form or the token endpoint, as an audit entry."""
    user_model = get_user_model()
    username = str(credentials.get(user_model.USERNAME_FIELD) or credentials.get("username") or "")
    account = user_model._default_manager.filter(**{user_model.USERNAME_FIELD: username}).first()
    LogEntry.objects.create(
        content_type=ContentType.objects.get_for_model(user_model),
        object_pk=str(account.pk) if account else "",
        object_id=account.pk if account else None,
        object_repr=username[:200],
        action=LogEntry.Action.ACCESS,
        changes={},
        additional_data={"event": SIGN_IN_FAILED, "username": username[:150], "path": getattr(request, "path", "")},
        remote_addr=_remote_address(request),
    )


def _remote_address(request) -> str | None:
    if request is None:
        return None
    meta = getattr(request, "META", {})
    return meta.get("REMOTE_ADDR") or None
