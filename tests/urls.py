from django.http import HttpResponse
from django.urls import path


def login(request):
    return HttpResponse("login page")


urlpatterns = [path("login/", login, name="login-page")]
