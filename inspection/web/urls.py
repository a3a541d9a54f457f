"""URLs of the web pages (the REST API lives under /api/, see inspection.api.urls)."""

from django.urls import path

from inspection.web import (
    annotations,
    dashboard,
    drift,
    history,
    inspections,
    partials,
    review_hotkeys,
    review_undo,
    reviews,
    training,
    versions,
    views,
)

_PRODUCT = "products/<int:product_id>/"
_VERSION = _PRODUCT + "versions/<int:version_id>/"

urlpatterns = [
    path("", views.product_list_page, name="product-list-page"),
    # Data set curation
    path(_PRODUCT + "images/", views.dataset_page, name="dataset-page"),
    path(_PRODUCT + "images/bulk/", views.dataset_bulk_action, name="dataset-bulk"),
    path(_PRODUCT + "images/upload/", views.dataset_upload, name="dataset-upload"),
    path(_PRODUCT + "reference/", views.dataset_reference_upload, name="dataset-reference"),
    path(_PRODUCT + "registration/", views.dataset_registration_retry, name="dataset-registration"),
    # Annotation: defect regions drawn over a registered image
    path(_PRODUCT + "images/<int:image_id>/annotate/", annotations.annotate_page, name="annotate-page"),
    # Training
    path(_PRODUCT + "training/", training.training_page, name="training-page"),
    path(_VERSION + "cancel/", training.training_cancel, name="training-cancel"),
    path(_PRODUCT + "retrain/", training.retrain, name="retrain"),
    # Model versions
    path(_PRODUCT + "versions/compare/", versions.version_compare, name="version-compare"),
    path(_VERSION, versions.version_page, name="version-page"),
    path(_VERSION + "threshold/", versions.version_threshold_save, name="version-threshold"),
    path(
        _VERSION + "threshold/<int:setting_id>/rollback/",
        versions.version_threshold_rollback,
        name="version-threshold-rollback",
    ),
    path(_VERSION + "activate/", versions.version_activate, name="version-activate"),
    path(_VERSION + "pixel-evaluation/", versions.version_pixel_evaluation, name="version-pixel-evaluation"),
    path(_VERSION + "export/", versions.version_export, name="version-export"),
    # Inspection
    path(_PRODUCT + "inspect/", inspections.inspect_page, name="inspect-page"),
    path(_PRODUCT + "inspections/<int:inspection_id>/", inspections.inspection_page, name="inspection-page"),
    path(_PRODUCT + "history/", history.history_page, name="history-page"),
    path(_PRODUCT + "dashboard/", dashboard.dashboard_page, name="dashboard-page"),
    path(_PRODUCT + "drift/check/", drift.drift_check_now, name="drift-check"),
    path(_PRODUCT + "drift/<int:warning_id>/send-to-review/", drift.drift_send_to_review, name="drift-send-to-review"),
    # Review queue
    path(_PRODUCT + "review/", reviews.review_page, name="review-page"),
    path(_PRODUCT + "review/next/", reviews.review_next, name="review-next"),
    path(_PRODUCT + "review/undo/", review_undo.review_undo, name="review-undo"),
    path(
        _PRODUCT + "review/defect-types/<int:defect_type_id>/move/",
        review_hotkeys.defect_type_move_page,
        name="defect-type-move",
    ),
    path(_PRODUCT + "review/<int:item_id>/", reviews.review_item_page, name="review-item"),
    path(_PRODUCT + "review/<int:item_id>/decide/", reviews.review_decide, name="review-decide"),
    path(_PRODUCT + "review/<int:item_id>/release/", reviews.review_release, name="review-release"),
    # Live parts of the pages, asked for by htmx while a job runs (see inspection.web.partials)
    path("live/jobs/<int:job_id>/", partials.job_live, name="job-live"),
    path("live/jobs/<int:job_id>/cancel/", partials.job_live_cancel, name="job-live-cancel"),
    path(_VERSION + "live/training/", partials.training_live, name="training-live"),
    path(_VERSION + "live/training/cancel/", partials.training_live_cancel, name="training-live-cancel"),
    path(_PRODUCT + "live/versions/", partials.training_history_live, name="training-history-live"),
    path(_PRODUCT + "live/images/", partials.dataset_grid_live, name="dataset-grid-live"),
    path(_PRODUCT + "live/inspections/", partials.inspection_rows_live, name="inspection-rows-live"),
    path(_VERSION + "live/pixel-evaluation/", partials.pixel_evaluation_live, name="pixel-evaluation-live"),
    path(_VERSION + "live/export/", partials.model_export_live, name="model-export-live"),
]
