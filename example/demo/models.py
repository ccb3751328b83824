from django.db import models


class Book(models.Model):
    """What the book list shows; its Meta carries the permission /secret/ asks for."""

    title = models.CharField(max_length=200)
    author = models.CharField(max_length=200)

    class Meta:
        ordering = ("title",)
        permissions = (("read_secret", "Can read the secret page"),)

    def __str__(self) -> str:
        return f"{self.title} by {self.author}"
