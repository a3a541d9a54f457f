"""Every model of the inspection app, one module per part of the domain.

The loop: a ModelVersion is trained on a frozen snapshot of a product's images
(ModelVersionImage) and scored on its labelled evaluation images
(EvaluationScore); a ThresholdSetting chooses the operating point; an
Activation makes a version the product's active one; each Inspection is scored
by the active version, and doubtful or rejected ones become ReviewItems whose
decisions turn into labelled images for the next training. Annotations hold
the defect regions drawn on registered images.
"""

from .annotations import Annotation, AnnotationRegion, DefectType, PixelEvaluation
from .drift import DriftWarning
from .inspections import Inspection, ReviewItem
from .jobs import Job
from .products import Image, Product
from .roles import Role
from .rollups import InspectionCount, InspectionCountProgress
from .versions import Activation, EvaluationScore, ModelVersion, ModelVersionImage, ThresholdSetting

__all__ = [
    "Activation",
    "Annotation",
    "AnnotationRegion",
    "DefectType",
    "DriftWarning",
    "EvaluationScore",
    "Image",
    "Inspection",
    "InspectionCount",
    "InspectionCountProgress",
    "Job",
    "ModelVersion",
    "ModelVersionImage",
    "PixelEvaluation",
    "Product",
    "ReviewItem",
    "Role",
    "ThresholdSetting",
]
