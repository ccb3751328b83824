"""The models the docs' examples import, with the fields they use.

They declare no permissions: the suite's own models have the same names
(``tests.Article``), and its tests look permissions up by codename.
"""

from django.conf import settings
from django.db import models

USER = settings.AUTH_USER_MODEL


class DocsModel(models.Model):
    class Meta:
        abstract = True
        default_permissions = ()


class Article(DocsModel):
    title = models.CharField(max_length=100)
    body = models.TextField(blank=True)


class Book(DocsModel):
    owner = models.ForeignKey(USER, on_delete=models.CASCADE)
    title = models.CharField(max_length=100)

    class Meta(DocsModel.Meta):
        ordering = ("title",)  # views.rst's BookList paginates


class Report(DocsModel):
    title = models.CharField(max_length=100)

    class Meta(DocsModel.Meta):
        ordering = ("title",)  # mixins.rst's Export lists


class Draft(DocsModel):
    owner = models.ForeignKey(USER, on_delete=models.CASCADE)


class Team(DocsModel):
    name = models.CharField(max_length=100)


class Membership(DocsModel):
    """A user's place in a team (mixins.rst) or a chat room (channels.rst)."""

    user = models.ForeignKey(USER, on_delete=models.CASCADE)
    team = models.ForeignKey(Team, null=True, on_delete=models.CASCADE)
    room = models.CharField(max_length=100, blank=True)
