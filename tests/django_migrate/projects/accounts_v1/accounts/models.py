"""Release 1.0.0: a custom user model with a nickname (NOT NULL, no database default)."""

from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    nickname = models.CharField(max_length=50, blank=True, default="")
