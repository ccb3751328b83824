from django.contrib.auth.views import (
    LoginView,
    PasswordChangeDoneView,
    PasswordChangeView,
)
from django.urls import path

from demo import views

urlpatterns = [
    path("", views.Dashboard.as_view(), name="dashboard"),
    path("books/", views.BookList.as_view(), name="books"),
    path("books/<int:pk>/edit/", views.BookEdit.as_view(), name="book_edit"),
    path("secret/", views.Secret.as_view(), name="secret"),
    path("login/", LoginView.as_view(), name="login"),
    path("logout/", views.Logout.as_view(), name="logout"),
    path(
        "logout/everywhere/",
        views.LogoutEverywhere.as_view(),
        name="logout_everywhere",
    ),
    # Django's own (sync) views: update_session_auth_hash() keeps this session
    # logged in; the user's other sessions and their sockets end.
    path("password/", PasswordChangeView.as_view(), name="password_change"),
    path(
        "password/done/",
        PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
]
