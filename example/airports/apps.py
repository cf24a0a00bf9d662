from django.apps import AppConfig


class AirportsConfig(AppConfig):
    name = "airports"
    verbose_name = "Airports"
