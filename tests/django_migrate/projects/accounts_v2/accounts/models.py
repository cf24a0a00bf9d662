"""Release 2.0.0: the user gets a time zone (with a database default) and loses its nickname."""

from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    timezone = models.CharField(max_length=40, default="UTC", db_default="UTC")
