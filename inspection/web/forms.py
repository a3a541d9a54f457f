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
        label="Per page", choices=[(size, str(size)) for size in PAGE_SIZES], coerce=int, required=False, empty_value=PAGE_SIZES[0]
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
    ids = forms.TypedMultipleChoiceField(label="Images", coerce=int, choices=(), error_messages={
        "required": "Select at least one image first.",
    })
    label = forms.ChoiceField(label="New label", choices=[("", "Choose")] + list(Image.Label.choices), required=False)
    split = forms.ChoiceField(label="New split", choices=[("", "Choose")] + list(Image.Split.choices), required=False)
    defect_type = forms.CharField(label="New defect type", required=False, max_length=100)
    confirm = forms.BooleanField(required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Any integer is accepted here; the service refuses ids of other products.
        self.fields["ids"].valid_value = lambda value: str(value).isdigit()

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
    label = forms.ChoiceField(label="Label", choices=Image.Label.choices, initial=Image.Label.UNKNOWN)
    split = forms.ChoiceField(label="Split", choices=Image.Split.choices, initial=Image.Split.TRAIN)
    defect_type = forms.CharField(label="Defect type", required=False, max_length=100)


class ReferenceUploadForm(forms.Form):
    file = forms.FileField(label="Reference image file", widget=forms.ClearableFileInput(attrs={"accept": "image/*"}))
