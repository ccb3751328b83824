from django.urls import path

from . import views

urlpatterns = [
    path("ceiling/", views.ceiling),
    path("ours/", views.Ours.as_view()),
    path("django-sync-mixins/", views.DjangoSyncMixins.as_view()),
    path("django-async-decorators/", views.django_async_decorators),
    path("async-extensions/", views.AsyncExtensions.as_view()),
]
