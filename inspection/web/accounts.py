"""The administrator's Users page: create users, set roles, deactivate, reset passwords,
station accounts with API tokens, and sign-in locks.

Who may open it is decided by the role table (inspection.permissions), not
here. A new password or token is shown in the answer to the request that made
it and nowhere else; it is not kept in the session or in messages.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from inspection.errors import ServiceError
from inspection.lib.roles import ROLE_ORDER
from inspection.selectors.accounts import sign_in_locks, user_get, user_has_token, user_is_station, user_list, user_role
from inspection.services.accounts import (
    sign_in_lock_lift,
    station_create,
    station_token_renew,
    station_token_revoke,
    user_create,
    user_password_reset,
    user_set_active,
    user_set_role,
)

ROLE_CHOICES = [("", "no role")] + [(role, role) for role in ROLE_ORDER]


class UserCreateForm(forms.Form):
    username = forms.CharField(label="User name", max_length=150)
    email = forms.EmailField(label="E-mail", required=False)
    role = forms.ChoiceField(label="Role", choices=ROLE_CHOICES, initial="operator", required=False)


class StationCreateForm(forms.Form):
    name = forms.SlugField(label="Station name", max_length=100, help_text="letters, digits, - and _")


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=ROLE_CHOICES, required=False)


class UnlockForm(forms.Form):
    username = forms.CharField(max_length=255)


def _page(request, *, user_form=None, station_form=None, secret=None, status=200):
    locks = sign_in_locks()
    rows = []
    for account in user_list():
        rows.append(
            {
                "account": account,
                "role": user_role(account),
                "station": user_is_station(account),
                "has_token": user_has_token(account),
                "locks": locks.pop(account.username, []),
            }
        )
    context = {
        "rows": rows,
        # Locks for names no account has: someone guessing user names.
        "unknown_locks": locks,
        "user_form": user_form or UserCreateForm(),
        "station_form": station_form or StationCreateForm(),
        "role_choices": ROLE_CHOICES,
        "secret": secret,
    }
    return render(request, "users.html", context, status=status)


@require_http_methods(["GET", "POST"])
def user_list_page(request):
    if request.method == "GET":
        return _page(request)
    form = UserCreateForm(request.POST)
    if form.is_valid():
        try:
            account, password = user_create(
                username=form.cleaned_data["username"],
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"] or None,
            )
        except ServiceError as error:
            form.add_error(None, error.message)
        else:
            secret = {"what": f"Password of {account.username}", "value": password}
            return _page(request, secret=secret)
    return _page(request, user_form=form, status=400)


@require_POST
def station_create_view(request):
    form = StationCreateForm(request.POST)
    if form.is_valid():
        try:
            account, token = station_create(name=form.cleaned_data["name"])
        except ServiceError as error:
            form.add_error(None, error.message)
        else:
            return _page(request, secret={"what": f"API token of {account.username}", "value": token})
    return _page(request, station_form=form, status=400)


@require_POST
def user_role_view(request, user_id: int):
    account = user_get(user_id=user_id)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose one of the roles.")
        return redirect("user-list-page")
    if account.pk == request.user.pk and form.cleaned_data["role"] != "admin" and not account.is_superuser:
        messages.error(request, "You cannot take the admin role from yourself; ask another administrator.")
        return redirect("user-list-page")
    user_set_role(user=account, role=form.cleaned_data["role"] or None)
    messages.success(request, f"{account.username} now has the role {form.cleaned_data['role'] or 'none'}.")
    return redirect("user-list-page")


@require_POST
def user_active_view(request, user_id: int):
    account = user_get(user_id=user_id)
    active = request.POST.get("active") == "1"
    try:
        user_set_active(user=account, active=active, changed_by=request.user)
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"{account.username} is {'active again' if active else 'deactivated'}.")
    return redirect("user-list-page")


@require_POST
def user_password_view(request, user_id: int):
    account = user_get(user_id=user_id)
    try:
        if user_is_station(account):
            secret = {"what": f"New API token of {account.username}", "value": station_token_renew(user=account)}
        else:
            secret = {"what": f"New password of {account.username}", "value": user_password_reset(user=account)}
    except ServiceError as error:
        messages.error(request, error.message)
        return redirect("user-list-page")
    return _page(request, secret=secret)


@require_POST
def station_token_revoke_view(request, user_id: int):
    account = user_get(user_id=user_id)
    try:
        station_token_revoke(user=account)
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"The API token of {account.username} is revoked; requests with it are refused.")
    return redirect("user-list-page")


@require_POST
def user_unlock_view(request):
    form = UnlockForm(request.POST)
    if form.is_valid():
        count = sign_in_lock_lift(username=form.cleaned_data["username"])
        messages.success(request, f"Sign-in lock of {form.cleaned_data['username']} lifted ({count} records cleared).")
    return redirect("user-list-page")
