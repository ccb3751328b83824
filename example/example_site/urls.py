from django.contrib.auth.views import LoginView, LogoutView
from django.urls import path

from demo import views

urlpatterns = [
    path("", views.Dashboard.as_view(), name="dashboard"),
    path("books/", views.BookList.as_view(), name="books"),
    path("secret/", views.Secret.as_view(), name="secret"),
    path("login/", LoginView.as_view(), name="login"),
    path("logout/", LogoutView.as_view(), name="logout"),
]
