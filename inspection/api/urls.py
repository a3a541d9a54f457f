from django.urls import path

from inspection.api.annotations import (
    AnnotationExportApi,
    AnnotationRestoreApi,
    AnnotationRevisionDetailApi,
    AnnotationRevisionListApi,
    DefectTypeDetailApi,
    DefectTypeListCreateApi,
    ImageAnnotationApi,
)
from inspection.api.dashboard import ProductDashboardApi
from inspection.api.drift import DriftCheckApi, DriftOverviewApi, DriftSendToReviewApi
from inspection.api.images import ImageBulkUpdateApi, ImageDetailApi, ImageListUploadApi
from inspection.api.inspection_history import InspectionHistoryExportApi
from inspection.api.inspections import InspectionDetailApi, InspectionListCreateApi
from inspection.api.jobs import JobCancelApi, JobDetailApi, JobListApi
from inspection.api.model_exports import ModelVersionExportApi
from inspection.api.model_versions import (
    ActivationListApi,
    ModelVersionActivateApi,
    ModelVersionCancelApi,
    ModelVersionDetailApi,
    ModelVersionEvaluationApi,
    ModelVersionListCreateApi,
    ModelVersionOperatingPointApi,
    ProductRetrainApi,
    ThresholdListCreateApi,
    ThresholdRollbackApi,
)
from inspection.api.pixel_evaluation import PixelEvaluationApi
from inspection.api.products import (
    ProductDetailApi,
    ProductListCreateApi,
    ProductReferenceImageApi,
    ProductRegistrationApi,
)
from inspection.api.review_hotkeys import DefectTypeOrderApi
from inspection.api.review_undo import ReviewItemUndoApi
from inspection.api.reviews import (
    ReviewItemClaimApi,
    ReviewItemClaimNextApi,
    ReviewItemDecideApi,
    ReviewItemDetailApi,
    ReviewItemListApi,
    ReviewItemReleaseApi,
)
from inspection.api.sign_in import TokenObtainApi

_PRODUCT = "products/<int:product_id>/"
_VERSION = _PRODUCT + "model-versions/<int:version_id>/"
_REVIEW = _PRODUCT + "review-items/<int:item_id>/"
_ANNOTATION = _PRODUCT + "images/<int:image_id>/annotation/"

urlpatterns = [
    path("auth/token/", TokenObtainApi.as_view(), name="api-token"),
    path("products/", ProductListCreateApi.as_view(), name="product-list"),
    path("products/<int:product_id>/", ProductDetailApi.as_view(), name="product-detail"),
    path(
        "products/<int:product_id>/reference-image/",
        ProductReferenceImageApi.as_view(),
        name="product-reference-image",
    ),
    path("products/<int:product_id>/registration/", ProductRegistrationApi.as_view(), name="product-registration"),
    path("products/<int:product_id>/images/", ImageListUploadApi.as_view(), name="image-list"),
    path("products/<int:product_id>/images/bulk/", ImageBulkUpdateApi.as_view(), name="image-bulk-update"),
    path("products/<int:product_id>/images/<int:image_id>/", ImageDetailApi.as_view(), name="image-detail"),
    path(_PRODUCT + "defect-types/", DefectTypeListCreateApi.as_view(), name="defect-type-list"),
    path(_PRODUCT + "defect-types/order/", DefectTypeOrderApi.as_view(), name="defect-type-order"),
    path(_PRODUCT + "defect-types/<int:defect_type_id>/", DefectTypeDetailApi.as_view(), name="defect-type-detail"),
    path(_PRODUCT + "annotations/export/", AnnotationExportApi.as_view(), name="annotation-export"),
    path(_ANNOTATION, ImageAnnotationApi.as_view(), name="image-annotation"),
    path(_ANNOTATION + "revisions/", AnnotationRevisionListApi.as_view(), name="annotation-revision-list"),
    path(_ANNOTATION + "revisions/<int:revision>/", AnnotationRevisionDetailApi.as_view(), name="annotation-revision"),
    path(_ANNOTATION + "revisions/<int:revision>/restore/", AnnotationRestoreApi.as_view(), name="annotation-restore"),
    path(_PRODUCT + "model-versions/", ModelVersionListCreateApi.as_view(), name="model-version-list"),
    path(_VERSION, ModelVersionDetailApi.as_view(), name="model-version-detail"),
    path(_VERSION + "cancel/", ModelVersionCancelApi.as_view(), name="model-version-cancel"),
    path(_VERSION + "evaluation/", ModelVersionEvaluationApi.as_view(), name="model-version-evaluation"),
    path(_VERSION + "operating-point/", ModelVersionOperatingPointApi.as_view(), name="model-version-operating-point"),
    path(_VERSION + "pixel-evaluation/", PixelEvaluationApi.as_view(), name="model-version-pixel-evaluation"),
    path(_VERSION + "activate/", ModelVersionActivateApi.as_view(), name="model-version-activate"),
    path(_VERSION + "export/", ModelVersionExportApi.as_view(), name="model-version-export"),
    path(_PRODUCT + "retrain/", ProductRetrainApi.as_view(), name="product-retrain"),
    path(_PRODUCT + "activations/", ActivationListApi.as_view(), name="activation-list"),
    path(_PRODUCT + "thresholds/", ThresholdListCreateApi.as_view(), name="threshold-list"),
    path(_PRODUCT + "thresholds/<int:setting_id>/rollback/", ThresholdRollbackApi.as_view(), name="threshold-rollback"),
    path(_PRODUCT + "inspections/", InspectionListCreateApi.as_view(), name="inspection-list"),
    path(_PRODUCT + "dashboard/", ProductDashboardApi.as_view(), name="product-dashboard"),
    path(_PRODUCT + "drift/", DriftOverviewApi.as_view(), name="drift-overview"),
    path(_PRODUCT + "drift/check/", DriftCheckApi.as_view(), name="drift-check-api"),
    path(
        _PRODUCT + "drift/warnings/<int:warning_id>/send-to-review/",
        DriftSendToReviewApi.as_view(),
        name="drift-send-to-review-api",
    ),
    path(_PRODUCT + "inspections/export/", InspectionHistoryExportApi.as_view(), name="inspection-export"),
    path(_PRODUCT + "inspections/<int:inspection_id>/", InspectionDetailApi.as_view(), name="inspection-detail"),
    path(_PRODUCT + "review-items/", ReviewItemListApi.as_view(), name="review-item-list"),
    path(_PRODUCT + "review-items/next/", ReviewItemClaimNextApi.as_view(), name="review-item-claim-next"),
    path(_REVIEW, ReviewItemDetailApi.as_view(), name="review-item-detail"),
    path(_REVIEW + "claim/", ReviewItemClaimApi.as_view(), name="review-item-claim"),
    path(_REVIEW + "release/", ReviewItemReleaseApi.as_view(), name="review-item-release"),
    path(_REVIEW + "decide/", ReviewItemDecideApi.as_view(), name="review-item-decide"),
    path(_REVIEW + "undo/", ReviewItemUndoApi.as_view(), name="review-item-undo"),
    path("jobs/", JobListApi.as_view(), name="job-list"),
    path("jobs/<int:job_id>/", JobDetailApi.as_view(), name="job-detail"),
    path("jobs/<int:job_id>/cancel/", JobCancelApi.as_view(), name="job-cancel"),
]
