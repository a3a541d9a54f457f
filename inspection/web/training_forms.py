"""The training form: a method and the main settings of each, blank meaning the method's default."""

from __future__ import annotations

import copy

from django import forms

METHOD_CHOICES = (
    ("cpcae-knn", "CPCAE + k-NN (the default: patch autoencoder anomaly maps, CNN embedding, k-NN)"),
    ("ae-l2", "Autoencoder reconstruction error (AE L2)"),
    ("deep-feature", "Deep features of the whole image, k-NN"),
    ("patch-knn", "Patch features, k-NN against a coreset of normal patches"),
    ("variation", "Variation model (per-pixel mean and spread; fast, needs well aligned parts)"),
    ("nearest-image", "Nearest normal image (fast baseline)"),
)


_AUTOENCODER = ("cpcae-knn", "ae-l2")


_BACKBONES = (("", "Method default"), ("xception", "Xception"), ("efficientnet-lite0", "EfficientNet-Lite0"))


# name -> (field, methods that take it). Empty fields keep the method's own default.
TRAINING_PARAMETERS = {
    "epochs": (
        forms.IntegerField(
            label="Epochs",
            min_value=1,
            max_value=500,
            required=False,
            widget=forms.NumberInput(attrs={"placeholder": "6"}),
        ),
        _AUTOENCODER,
    ),
    "batch_size": (
        forms.IntegerField(
            label="Batch size",
            min_value=1,
            max_value=4096,
            required=False,
            widget=forms.NumberInput(attrs={"placeholder": "64"}),
        ),
        _AUTOENCODER,
    ),
    "learning_rate": (
        forms.FloatField(
            label="Learning rate",
            min_value=1e-7,
            max_value=1.0,
            required=False,
            widget=forms.NumberInput(attrs={"placeholder": "0.001", "step": "any"}),
        ),
        _AUTOENCODER,
    ),
    "patch_size": (
        forms.IntegerField(
            label="Patch size (pixels)",
            min_value=4,
            max_value=1024,
            required=False,
            widget=forms.NumberInput(attrs={"placeholder": "64"}),
        ),
        _AUTOENCODER,
    ),
    "stride": (
        forms.IntegerField(
            label="Patch stride (pixels)",
            min_value=1,
            max_value=1024,
            required=False,
            widget=forms.NumberInput(attrs={"placeholder": "32"}),
        ),
        _AUTOENCODER,
    ),
    "downsize_factor": (
        forms.IntegerField(
            label="Downsize factor",
            min_value=1,
            max_value=32,
            required=False,
            widget=forms.NumberInput(attrs={"placeholder": "4"}),
        ),
        _AUTOENCODER,
    ),
    "latent_dim": (
        forms.IntegerField(
            label="Latent size",
            min_value=1,
            max_value=4096,
            required=False,
            widget=forms.NumberInput(attrs={"placeholder": "128"}),
        ),
        _AUTOENCODER,
    ),
    "backbone": (
        forms.ChoiceField(label="Backbone network", choices=_BACKBONES, required=False),
        ("cpcae-knn", "deep-feature", "patch-knn"),
    ),
    "n_neighbors": (
        forms.IntegerField(
            label="Neighbours (k)",
            min_value=1,
            max_value=100,
            required=False,
            widget=forms.NumberInput(attrs={"placeholder": "5 or 15"}),
        ),
        ("cpcae-knn", "deep-feature"),
    ),
    "variance_shrinkage": (
        forms.FloatField(
            label="Variance shrinkage",
            min_value=0.0,
            max_value=100.0,
            required=False,
            widget=forms.NumberInput(attrs={"placeholder": "1", "step": "any"}),
        ),
        ("cpcae-knn",),
    ),
    "residual_normalisation": (
        forms.TypedChoiceField(
            label="Normalise residuals per pixel",
            required=False,
            coerce=lambda choice: choice == "on",
            empty_value="",
            choices=(("", "Method default (on)"), ("on", "On"), ("off", "Off: raw residuals, as in the paper")),
        ),
        ("cpcae-knn",),
    ),
    "pooling_grid": (
        forms.IntegerField(
            label="Pooling regions per side",
            min_value=1,
            max_value=8,
            required=False,
            widget=forms.NumberInput(attrs={"placeholder": "3"}),
            help_text="1 pools the whole map, as in the paper; more tell where on the part a residual lies",
        ),
        ("cpcae-knn",),
    ),
    "precision": (
        forms.ChoiceField(
            label="Number format of the backbone",
            choices=(
                ("", "Method default: float32"),
                (
                    "auto",
                    "Auto: bfloat16 where the CPU computes it natively (faster; cannot be exported), else float32",
                ),
                ("float32", "float32"),
                ("bfloat16", "bfloat16 (cannot be exported)"),
            ),
            required=False,
            help_text="The version records the one used and keeps it for evaluation, inspection and export",
        ),
        ("cpcae-knn", "deep-feature", "patch-knn"),
    ),
    "input_side": (
        forms.IntegerField(
            label="Input side (pixels)",
            min_value=32,
            max_value=2048,
            required=False,
            widget=forms.NumberInput(attrs={"placeholder": "512"}),
        ),
        ("patch-knn",),
    ),
    "enlarge": (
        forms.BooleanField(
            label="Enlarge smaller images to the input side",
            required=False,
            help_text="For defects a few pixels across; slower",
        ),
        ("patch-knn",),
    ),
    "fine_input_side": (
        forms.IntegerField(
            label="Finer second pass, input side (pixels)",
            min_value=0,
            max_value=4096,
            required=False,
            widget=forms.NumberInput(attrs={"placeholder": "768"}),
            help_text="Finds defects a few pixels across; 0 turns it off (faster)",
        ),
        ("patch-knn",),
    ),
    "coreset_ratio": (
        forms.FloatField(
            label="Coreset ratio",
            min_value=0.0001,
            max_value=1.0,
            required=False,
            widget=forms.NumberInput(attrs={"placeholder": "0.01", "step": "any"}),
        ),
        ("patch-knn",),
    ),
    "working_side": (
        forms.IntegerField(
            label="Working side (pixels)",
            min_value=8,
            max_value=4096,
            required=False,
            widget=forms.NumberInput(attrs={"placeholder": "128"}),
        ),
        ("nearest-image",),
    ),
    "min_std": (
        forms.FloatField(
            label="Smallest spread",
            min_value=0.0,
            max_value=1.0,
            required=False,
            widget=forms.NumberInput(attrs={"placeholder": "0.01", "step": "any"}),
        ),
        ("variation",),
    ),
}


class TrainingForm(forms.Form):
    method = forms.ChoiceField(label="Method", choices=METHOD_CHOICES, initial="cpcae-knn")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, (field, methods) in TRAINING_PARAMETERS.items():
            self.fields[name] = copy.deepcopy(field)
            self.fields[name].widget.attrs["data-methods"] = " ".join(methods)

    def parameter_fields(self):
        """(bound field, methods) of every hyper-parameter, for the template."""
        return [(self[name], methods) for name, (_, methods) in TRAINING_PARAMETERS.items()]

    def params(self) -> dict:
        """The hyper-parameters the chosen method takes, leaving out empty ones (method default)."""
        method = self.cleaned_data["method"]
        return {
            name: self.cleaned_data[name]
            for name, (field, methods) in TRAINING_PARAMETERS.items()
            if method in methods and not _means_default(field, self.cleaned_data.get(name))
        }


def _means_default(field, value) -> bool:
    # An unticked box also means "the method's default"; `is False`, because 0 == False.
    return value is None or value == "" or (isinstance(field, forms.BooleanField) and value is False)
