"""URLs of the example project (no trailing slashes: the API and the health gate use these exact paths)."""

from django.urls import path

from airports import views

urlpatterns = [
    path("", views.index, name="index"),
    path("healthz", views.healthz, name="healthz"),
    path("whoami", views.whoami, name="whoami"),
    path("api/airports", views.airports, name="airports"),
    path("api/airports/<str:iata>", views.airport_detail, name="airport-detail"),
    path("api/distances", views.distances, name="distances"),
    path("api/distances/<int:pk>", views.distance_detail, name="distance-detail"),
]
