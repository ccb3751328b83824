"""The models the docs' examples import, with the fields they use."""

from django.conf import settings
from django.db import models

USER = settings.AUTH_USER_MODEL


class Article(models.Model):
    title = models.CharField(max_length=100)
    body = models.TextField(blank=True)


class Book(models.Model):
    owner = models.ForeignKey(USER, on_delete=models.CASCADE)
    title = models.CharField(max_length=100)

    class Meta:
        ordering = ("title",)  # views.rst's BookList paginates


class Report(models.Model):
    title = models.CharField(max_length=100)

    class Meta:
        ordering = ("title",)  # mixins.rst's Export lists


class Draft(models.Model):
    owner = models.ForeignKey(USER, on_delete=models.CASCADE)


class Team(models.Model):
    name = models.CharField(max_length=100)


class Membership(models.Model):
    """A user's place in a team (mixins.rst) or a chat room (channels.rst)."""

    user = models.ForeignKey(USER, on_delete=models.CASCADE)
    team = models.ForeignKey(Team, null=True, on_delete=models.CASCADE)
    room = models.CharField(max_length=100, blank=True)
