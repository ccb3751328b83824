from django.urls import path

from . import views

urlpatterns = [
    path("ceiling/", views.ceiling),
    path("bare/", views.ceiling),
    path("ours/", views.Ours.as_view()),
    path("ours-sessions/", views.Ours.as_view()),
    path("plain-ours/", views.ceiling),
    path("plain-django/", views.ceiling),
    path("django-sync-mixins/", views.DjangoSyncMixins.as_view()),
    path("django-async-decorators/", views.django_async_decorators),
    path("async-extensions/", views.AsyncExtensions.as_view()),
]
