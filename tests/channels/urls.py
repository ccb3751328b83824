"""HTTP views that end or change a session, for the revocation tests and the e2e app."""

from django.contrib.auth import (
    aauthenticate,
    alogin,
    alogout,
    authenticate,
    get_user_model,
    login,
    logout,
    update_session_auth_hash,
)
from django.contrib.auth.models import Permission
from django.http import HttpResponse, HttpResponseBadRequest
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from async_auth_views.mixins import LoginRequiredMixin, PermissionRequiredMixin
from async_auth_views.views import AsyncView

User = get_user_model()
#: The user model's add permission ("auth.add_user" for the stock User).
CODENAME = f"add_{User._meta.model_name}"
PERMISSION = f"{User._meta.app_label}.{CODENAME}"


@csrf_exempt
def login_view(request):
    user = authenticate(
        request,
        username=request.POST.get("username"),
        password=request.POST.get("password"),
    )
    if user is None:
        return HttpResponseBadRequest("bad credentials")
    login(request, user)
    return HttpResponse("logged in")


@csrf_exempt
async def alogin_view(request):
    user = await aauthenticate(
        request,
        username=request.POST.get("username"),
        password=request.POST.get("password"),
    )
    if user is None:
        return HttpResponseBadRequest("bad credentials")
    await alogin(request, user)
    return HttpResponse("logged in")


@csrf_exempt
def flush_view(request):
    """Ends the session without logout(), as a "forget me" page might."""
    request.session.flush()
    return HttpResponse("flushed")


@csrf_exempt
def cycle_view(request):
    """Gives the session a new key, as after a privilege change."""
    request.session.cycle_key()
    return HttpResponse("cycled")


@csrf_exempt
def logout_view(request):
    logout(request)
    return HttpResponse("logged out")


@csrf_exempt
async def alogout_view(request):
    await alogout(request)
    return HttpResponse("logged out")


@csrf_exempt
def password_view(request):
    if not request.user.is_authenticated:
        return HttpResponseBadRequest("not logged in")
    request.user.set_password(request.POST["password"])
    request.user.save()
    update_session_auth_hash(request, request.user)
    return HttpResponse("password changed")


async def whoami_view(request):
    return HttpResponse(str(request.user.pk))


class Guarded(LoginRequiredMixin, PermissionRequiredMixin, AsyncView):
    permission_required = PERMISSION
    raise_exception = True

    async def get(self, request):
        return HttpResponse(request.user.get_username())


@csrf_exempt
def admin_view(request, action, username):
    """What an administrator does to ``username`` in another process."""
    user = User.objects.get(username=username)
    permission = Permission.objects.get(
        codename=CODENAME, content_type__app_label=User._meta.app_label
    )
    if action == "grant":
        user.user_permissions.add(permission)
    elif action == "revoke":
        user.user_permissions.remove(permission)
    elif action == "deactivate":
        user.is_active = False
        user.save()
    else:
        return HttpResponseBadRequest(f"unknown action {action!r}")
    return HttpResponse(f"{action} {username}")


urlpatterns = [
    path("guarded/", Guarded.as_view()),
    path("admin/<str:action>/<str:username>/", admin_view),
    path("whoami/", whoami_view),
    path("login/", login_view),
    path("alogin/", alogin_view),
    path("flush/", flush_view),
    path("cycle/", cycle_view),
    path("logout/", logout_view),
    path("alogout/", alogout_view),
    path("password/", password_view),
]
