"""Forms of the web pages: they check what a person typed and say in words what is wrong."""

from __future__ import annotations

from django import forms

from inspection.models import Image

_LABELS = [("", "Any label")] + list(Image.Label.choices)
_SPLITS = [("", "Any split")] + list(Image.Split.choices)
_REGISTRATION = [("", "Any alignment")] + [
    (Image.RegistrationStatus.PENDING, "Not aligned yet"),
    (Image.RegistrationStatus.REGISTERED, "Aligned"),
    (Image.RegistrationStatus.FAILED, "Could not be aligned"),
]
PAGE_SIZES = (48, 96, 192)


class ProductCreateForm(forms.Form):
    name = forms.CharField(label="Name", max_length=200)
    description = forms.CharField(label="Description", required=False, widget=forms.Textarea(attrs={"rows": 2}))
    reference_image = forms.FileField(
        label="Reference image (optional)",
        required=False,
        help_text="Every image of the product is aligned to this picture of a good part.",
        widget=forms.ClearableFileInput(attrs={"accept": "image/*"}),
    )


class ImageFilterForm(forms.Form):
    """The grid's filters, read from the query string; an unknown value is reported, not ignored."""

    label = forms.ChoiceField(label="Label", choices=_LABELS, required=False)
    split = forms.ChoiceField(label="Split", choices=_SPLITS, required=False)
    defect_type = forms.CharField(label="Defect type", required=False, max_length=100)
    registration_status = forms.ChoiceField(label="Alignment", choices=_REGISTRATION, required=False)
    page_size = forms.TypedChoiceField(
        label="Per page",
        choices=[(size, str(size)) for size in PAGE_SIZES],
        coerce=int,
        required=False,
        empty_value=PAGE_SIZES[0],
    )

    def filters(self) -> dict:
        data = self.cleaned_data
        return {name: data.get(name) or None for name in ("label", "split", "defect_type", "registration_status")}


class BulkActionForm(forms.Form):
    ACTIONS = (
        ("label", "Set label"),
        ("split", "Set split"),
        ("defect_type", "Set defect type"),
        ("exclude", "Exclude from training and evaluation"),
        ("delete", "Delete"),
        ("reference", "Use as reference image"),
    )

    action = forms.ChoiceField(label="Action", choices=ACTIONS)
    ids = forms.TypedMultipleChoiceField(
        label="Images",
        coerce=int,
        choices=(),
        error_messages={
            "required": "Select at least one image first.",
        },
    )
    label = forms.ChoiceField(label="New label", choices=[("", "Choose")] + list(Image.Label.choices), required=False)
    split = forms.ChoiceField(label="New split", choices=[("", "Choose")] + list(Image.Split.choices), required=False)
    defect_type = forms.CharField(label="New defect type", required=False, max_length=100)
    confirm = forms.BooleanField(required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Any integer is accepted here; the service refuses ids of other products.
        self.fields["ids"].valid_value = lambda value: str(value).isascii() and str(value).isdigit()

    def clean(self):
        data = super().clean()
        action = data.get("action")
        if action == "label" and not data.get("label"):
            self.add_error("label", "Choose the label to give the selected images.")
        if action == "split" and not data.get("split"):
            self.add_error("split", "Choose the split to put the selected images in.")
        if action == "defect_type" and not (data.get("defect_type") or "").strip():
            self.add_error("defect_type", "Type the defect type to give the selected images.")
        if action == "reference" and len(data.get("ids") or []) != 1:
            self.add_error("ids", "Select exactly one image to use as the reference image.")
        return data

    def changes(self) -> dict:
        data = self.cleaned_data
        action = data["action"]
        if action == "label":
            changes = {"label": data["label"]}
            if data["label"] != Image.Label.DEFECTIVE:
                changes["defect_type"] = ""
            return changes
        if action == "split":
            return {"split": data["split"]}
        if action == "defect_type":
            # A defect type describes a defective part, so the images become defective.
            return {"label": Image.Label.DEFECTIVE, "defect_type": data["defect_type"].strip()}
        if action == "exclude":
            return {"split": Image.Split.EXCLUDED}
        return {}


class UploadForm(forms.Form):
    """Used when JavaScript is off; with it, the page uploads through the API and shows progress."""

    files = forms.FileField(label="Images or zip archives", required=True)
    # Normal by default: the first images of a product are pictures of good parts, and an "unknown" image in the
    # train split would be stored but never trained on.
    label = forms.ChoiceField(
        label="Label",
        choices=Image.Label.choices,
        initial=Image.Label.NORMAL,
        help_text="Training learns from normal images of the train split; unknown ones wait until labelled.",
    )
    split = forms.ChoiceField(label="Split", choices=Image.Split.choices, initial=Image.Split.TRAIN)
    defect_type = forms.CharField(label="Defect type", required=False, max_length=100)


class ReferenceUploadForm(forms.Form):
    file = forms.FileField(label="Reference image file", widget=forms.ClearableFileInput(attrs={"accept": "image/*"}))


# --- Operating points and activation -------------------------------------------


class ThresholdForm(forms.Form):
    MODES = (("single", "One threshold"), ("band", "Review band (T1, T2)"))

    mode = forms.ChoiceField(label="Decision rule", choices=MODES, initial="single")
    threshold = forms.FloatField(label="Threshold", required=False)
    band_lower = forms.FloatField(label="T1: review from", required=False)
    band_upper = forms.FloatField(label="T2: reject from", required=False)
    reason = forms.CharField(
        label="Reason for this change",
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=2000,
        error_messages={"required": "Say why the operating point changes; the history keeps it."},
    )

    def clean(self):
        data = super().clean()
        if data.get("mode") == "single":
            if data.get("threshold") is None:
                self.add_error("threshold", "Give the threshold.")
        elif data.get("mode") == "band":
            lower, upper = data.get("band_lower"), data.get("band_upper")
            if lower is None:
                self.add_error("band_lower", "Give T1, the score from which parts go to review.")
            if upper is None:
                self.add_error("band_upper", "Give T2, the score from which parts are rejected.")
            if lower is not None and upper is not None and not lower < upper:
                self.add_error("band_upper", "T2 must be above T1; with equal values use one threshold.")
        return data

    def values(self) -> dict:
        data = self.cleaned_data
        if data["mode"] == "single":
            return {"threshold": data["threshold"]}
        return {"band_lower": data["band_lower"], "band_upper": data["band_upper"]}


class RollbackForm(forms.Form):
    reason = forms.CharField(
        label="Reason for the rollback",
        max_length=2000,
        error_messages={
            "required": "Say why the earlier operating point comes back; the history keeps it.",
        },
    )


class ActivationForm(forms.Form):
    """Activation names its operating point and a reason; the first post shows the proposal, the second confirms."""

    OTHER_THRESHOLD = "threshold"

    operating_point = forms.ChoiceField(label="Operating point to put in force", choices=())
    threshold = forms.FloatField(label="Threshold (reject from), for another threshold", required=False)
    reason = forms.CharField(
        label="Reason for activating",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "Say why this version goes into use; the history keeps it."},
    )
    force = forms.BooleanField(label="Activate although it was not evaluated", required=False)
    confirmed = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["operating_point"].choices = [*choices, (self.OTHER_THRESHOLD, "Another threshold (type it below)")]

    def clean(self):
        data = super().clean()
        if data.get("operating_point") == self.OTHER_THRESHOLD and data.get("threshold") is None:
            self.add_error("threshold", "Type the threshold, or choose one of the operating points above.")
        return data

    def operating_point_value(self):
        """What the activation service takes: a name, or {"threshold": t}."""
        if self.cleaned_data["operating_point"] == self.OTHER_THRESHOLD:
            return {"threshold": self.cleaned_data["threshold"]}
        return self.cleaned_data["operating_point"]


# --- Inspection and review ---------------------------------------------------------


class InspectForm(forms.Form):
    """Used when JavaScript is off; with it, the page sends the images through the API."""

    files = forms.FileField(label="Images to inspect")


class ReviewDecisionForm(forms.Form):
    decision = forms.ChoiceField(label="Verdict", choices=(("defective", "Defective"), ("normal", "Normal")))
    defect_type = forms.CharField(label="Defect type", required=False, max_length=100)
    note = forms.CharField(label="Note (optional)", required=False, max_length=2000)

    def clean(self):
        data = super().clean()
        if data.get("decision") == "defective" and not (data.get("defect_type") or "").strip():
            self.add_error("defect_type", "Choose or type the defect type to confirm a defect.")
        if data.get("decision") == "normal":
            data["defect_type"] = ""
        return data
