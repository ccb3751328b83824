"""HTTP views that end or change a session, for the revocation tests and the e2e app."""

from django.contrib.auth import (
    alogout,
    authenticate,
    login,
    logout,
    update_session_auth_hash,
)
from django.http import HttpResponse, HttpResponseBadRequest
from django.urls import path
from django.views.decorators.csrf import csrf_exempt


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


urlpatterns = [
    path("whoami/", whoami_view),
    path("login/", login_view),
    path("logout/", logout_view),
    path("alogout/", alogout_view),
    path("password/", password_view),
]
