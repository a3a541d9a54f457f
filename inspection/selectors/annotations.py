"""Reads about defect types and annotations."""

from __future__ import annotations

from django.db.models import Count, F, Max, OuterRef, QuerySet, Subquery
from django.shortcuts import get_object_or_404

from inspection.models import Annotation, AnnotationRegion, DefectType, Image, Product


def _latest_revision(image_ref: str):
    return Subquery(Annotation.objects.filter(image=OuterRef(image_ref)).order_by("-revision").values("revision")[:1])


def defect_type_list(*, product: Product) -> list[DefectType]:
    """The product's defect types by name, each with `region_count` (regions in current annotations)
    and `in_use` (any region of any revision uses it: such a type cannot be deleted)."""
    current = (
        AnnotationRegion.objects.filter(defect_type__product=product)
        .annotate(latest=_latest_revision("annotation__image"))
        .filter(annotation__revision=F("latest"))
        .values("defect_type")
        .annotate(total=Count("id"))
        .values_list("defect_type", "total")
    )
    counts = dict(current)
    types = list(DefectType.objects.filter(product=product).annotate(any_regions=Count("regions")).order_by("name"))
    for defect_type in types:
        defect_type.region_count = counts.get(defect_type.pk, 0)
        defect_type.in_use = defect_type.any_regions > 0
    return types


def defect_type_get(*, product: Product, defect_type_id: int) -> DefectType:
    return get_object_or_404(DefectType, product=product, pk=defect_type_id)


def annotation_current(*, image: Image) -> Annotation | None:
    """The image's highest revision with its regions, or None when it was never annotated."""
    return (
        Annotation.objects.filter(image=image)
        .select_related("created_by")
        .prefetch_related("regions__defect_type")
        .order_by("-revision")
        .first()
    )


def annotation_get(*, image: Image, revision: int) -> Annotation:
    return get_object_or_404(
        Annotation.objects.select_related("created_by").prefetch_related("regions__defect_type"),
        image=image,
        revision=revision,
    )


def annotation_revision_list(*, image: Image) -> QuerySet[Annotation]:
    """Every revision of the image's annotation, newest first, with `region_count`."""
    return (
        Annotation.objects.filter(image=image)
        .select_related("created_by")
        .annotate(region_count=Count("regions"))
        .order_by("-revision")
    )


def annotation_current_by_image(*, images) -> dict[int, Annotation]:
    """{image id: current Annotation with its regions} for those of `images` that were ever annotated."""
    annotations = (
        Annotation.objects.filter(image__in=images)
        .annotate(latest=_latest_revision("image"))
        .filter(revision=F("latest"))
        .prefetch_related("regions__defect_type")
    )
    return {annotation.image_id: annotation for annotation in annotations}


def annotation_current_revisions(*, image_ids) -> dict[int, int]:
    """{image id: current revision} of the given images; 0 for images never annotated."""
    image_ids = list(image_ids)
    revisions = dict(
        Annotation.objects.filter(image_id__in=image_ids)
        .values("image_id")
        .annotate(top=Max("revision"))
        .values_list("image_id", "top")
    )
    return {image_id: revisions.get(image_id, 0) for image_id in image_ids}
