"""The Audit page: the same entries and filters as GET /api/audit/."""

from __future__ import annotations

from django import forms
from django.core.paginator import Paginator
from django.shortcuts import render
from django.views.decorators.http import require_GET

from inspection.selectors.audit import ACTIONS, audit_entry_list, audit_entry_summary
from inspection.selectors.products import product_list


class AuditFilterForm(forms.Form):
    product = forms.TypedChoiceField(label="Product", coerce=int, required=False, empty_value=None)
    user = forms.CharField(label="User", max_length=150, required=False)
    action = forms.ChoiceField(
        label="Action",
        required=False,
        choices=[("", "any")] + [(name, name.replace("_", " ")) for name in sorted(ACTIONS)],
    )
    since = forms.DateTimeField(
        label="From", required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    until = forms.DateTimeField(
        label="Until", required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["product"].choices = [("", "any")] + [(product.pk, product.name) for product in product_list()]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("since") and cleaned.get("until") and cleaned["since"] >= cleaned["until"]:
            self.add_error("until", "Until must be later than From.")
        return cleaned


@require_GET
def audit_page(request):
    form = AuditFilterForm(request.GET or None)
    filters = {}
    if form.is_bound and form.is_valid():
        values = form.cleaned_data
        filters = {
            "product_id": values["product"],
            "username": values["user"] or None,
            "action": values["action"] or None,
            "since": values["since"],
            "until": values["until"],
        }
    page = Paginator(audit_entry_list(**filters), 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "entries": [audit_entry_summary(entry) for entry in page],
        "query": query.urlencode(),
    }
    return render(request, "audit.html", context, status=400 if form.errors else 200)
