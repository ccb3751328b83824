"""Models for tests that need a custom user model or an object to hold permissions on."""

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager
from django.db import models


class EmailUserManager(BaseUserManager["EmailUser"]):
    def create_user(self, email, password=None, **extra_fields):
        user = self.model(email=self.normalize_email(email), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user


class EmailUser(AbstractBaseUser):
    """A custom AUTH_USER_MODEL that logs in by email address.

    No PermissionsMixin: its relations would clash with auth.User's.
    """

    email = models.EmailField(unique=True)
    is_active = models.BooleanField(default=True)

    USERNAME_FIELD = "email"
    objects = EmailUserManager()


class Article(models.Model):
    """An object to check object permissions against."""

    title = models.CharField(max_length=100)
    owner = models.CharField(max_length=150, blank=True)

    def __str__(self) -> str:
        return self.title


class Lockout(models.Model):
    """A user locked out after failed logins, kept by username in a table of its
    own, as django-axes keeps its lock-outs (see ``tests.backends``)."""

    username = models.CharField(max_length=150, unique=True)
