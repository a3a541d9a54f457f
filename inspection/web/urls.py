"""URLs of the web pages (the REST API lives under /api/, see inspection.api.urls)."""

from django.urls import path

from inspection.web import views

urlpatterns = [
    path("", views.product_list_page, name="product-list-page"),
    path("products/<int:product_id>/images/", views.dataset_page, name="dataset-page"),
    path("products/<int:product_id>/images/bulk/", views.dataset_bulk_action, name="dataset-bulk"),
    path("products/<int:product_id>/images/upload/", views.dataset_upload, name="dataset-upload"),
    path("products/<int:product_id>/reference/", views.dataset_reference_upload, name="dataset-reference"),
    path("products/<int:product_id>/registration/", views.dataset_registration_retry, name="dataset-registration"),
]
