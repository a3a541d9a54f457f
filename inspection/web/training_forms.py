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


def _number(kind, label: str, low, high, default: str, help_text: str = ""):
    """An optional number field: blank keeps the method's own default, shown as the placeholder."""
    attrs = {"placeholder": default, **({"step": "any"} if kind is forms.FloatField else {})}
    return kind(
        label=label,
        min_value=low,
        max_value=high,
        required=False,
        widget=forms.NumberInput(attrs=attrs),
        help_text=help_text,
    )


# name -> (field, methods that take it). Empty fields keep the method's own default.
TRAINING_PARAMETERS = {
    "epochs": (
        _number(forms.IntegerField, "Epochs", 1, 500, "6"),
        _AUTOENCODER,
    ),
    "batch_size": (
        _number(forms.IntegerField, "Batch size", 1, 4096, "64"),
        _AUTOENCODER,
    ),
    "learning_rate": (
        _number(forms.FloatField, "Learning rate", 1e-7, 1.0, "0.001"),
        _AUTOENCODER,
    ),
    "patch_size": (
        _number(forms.IntegerField, "Patch size (pixels)", 4, 1024, "64"),
        _AUTOENCODER,
    ),
    "stride": (
        _number(forms.IntegerField, "Patch stride (pixels)", 1, 1024, "32"),
        _AUTOENCODER,
    ),
    "downsize_factor": (
        _number(forms.IntegerField, "Downsize factor", 1, 32, "4"),
        _AUTOENCODER,
    ),
    "latent_dim": (
        _number(forms.IntegerField, "Latent size", 1, 4096, "128"),
        _AUTOENCODER,
    ),
    "backbone": (
        forms.ChoiceField(label="Backbone network", choices=_BACKBONES, required=False),
        ("cpcae-knn", "deep-feature", "patch-knn"),
    ),
    "n_neighbors": (
        _number(forms.IntegerField, "Neighbours (k)", 1, 100, "5 or 15"),
        ("cpcae-knn", "deep-feature"),
    ),
    "variance_shrinkage": (
        _number(forms.FloatField, "Variance shrinkage", 0.0, 100.0, "1"),
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
        _number(
            forms.IntegerField,
            "Pooling regions per side",
            1,
            8,
            "3",
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
        _number(forms.IntegerField, "Input side (pixels)", 32, 2048, "512"),
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
        _number(
            forms.IntegerField,
            "Finer second pass, input side (pixels)",
            0,
            4096,
            "768",
            help_text="Finds defects a few pixels across; 0 turns it off (faster)",
        ),
        ("patch-knn",),
    ),
    "coreset_ratio": (
        _number(forms.FloatField, "Coreset ratio", 0.0001, 1.0, "0.01"),
        ("patch-knn",),
    ),
    "working_side": (
        _number(forms.IntegerField, "Working side (pixels)", 8, 4096, "128"),
        ("nearest-image",),
    ),
    "min_std": (
        _number(forms.FloatField, "Smallest spread", 0.0, 1.0, "0.01"),
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
