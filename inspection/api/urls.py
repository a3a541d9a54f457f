from django.urls import path
from rest_framework.authtoken.views import obtain_auth_token

from inspection.api.images import ImageBulkUpdateApi, ImageDetailApi, ImageListUploadApi
from inspection.api.jobs import JobCancelApi, JobDetailApi, JobListApi
from inspection.api.products import (
    ProductDetailApi,
    ProductListCreateApi,
    ProductReferenceImageApi,
    ProductRegistrationApi,
)

urlpatterns = [
    path("auth/token/", obtain_auth_token, name="api-token"),
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
    path("jobs/", JobListApi.as_view(), name="job-list"),
    path("jobs/<int:job_id>/", JobDetailApi.as_view(), name="job-detail"),
    path("jobs/<int:job_id>/cancel/", JobCancelApi.as_view(), name="job-cancel"),
]
