"""HTTP endpoints: the health gate, a client-address probe, and a small JSON API on PostGIS."""

import json
import logging
import re

from django.conf import settings
from django.contrib.gis.geos import Point
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from kombu.exceptions import OperationalError as BrokerError

from . import dataset, health
from .models import Airport, Distance
from .tasks import compute_distance

logger = logging.getLogger(__name__)

# Bump the suffix when the shape of an airport in the list changes: old and new code share Redis
# during a rolling deploy.
AIRPORT_LIST_CACHE_KEY = "airports:list:v1"
AIRPORT_LIST_CACHE_SECONDS = 60
IATA_PATTERN = re.compile(r"^[A-Z0-9]{3}$")
NAME_MAX_LENGTH = Airport._meta.get_field("name").max_length


def json_error(status, message, **extra):
    return JsonResponse({"error": message, **extra}, status=status)


def read_json(request):
    """The request body as a JSON object, or raise ValueError with a message for the client."""
    try:
        payload = json.loads(request.body or b"null")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"the body is not valid JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise ValueError("the body must be a JSON object")
    return payload


def _number(payload, key, low, high, errors):
    value = payload.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        errors[key] = "required, a number"
    elif not low <= value <= high:
        errors[key] = f"between {low} and {high}"
    else:
        return float(value)
    return None


def validate_airport(payload):
    """-> (cleaned data, {field: message}); the data is usable only when there is no error."""
    errors = {}
    iata = payload.get("iata")
    if not isinstance(iata, str) or not IATA_PATTERN.match(iata.strip().upper()):
        errors["iata"] = "required, three letters or digits"
    name = payload.get("name")
    if not isinstance(name, str) or not name.strip():
        errors["name"] = "required, a non-empty string"
    elif len(name.strip()) > NAME_MAX_LENGTH:
        errors["name"] = f"at most {NAME_MAX_LENGTH} characters"
    lat = _number(payload, "lat", -90, 90, errors)
    lon = _number(payload, "lon", -180, 180, errors)
    if errors:
        return None, errors
    return {"iata": iata.strip().upper(), "name": name.strip(), "lat": lat, "lon": lon}, {}


def airport_row(airport):
    return dataset.airport_row(airport.iata, airport.name, airport.location.y, airport.location.x)


def airport_list_body():
    """The JSON list of every airport, from Redis when it is there; Redis down only costs speed."""
    try:
        body = cache.get(AIRPORT_LIST_CACHE_KEY)
    except Exception:
        logger.warning("cache unavailable, reading airports from the database", exc_info=True)
        body = None
    if body is None:
        body = dataset.render(airport_row(a) for a in Airport.objects.only("iata", "name", "location"))
        try:
            cache.set(AIRPORT_LIST_CACHE_KEY, body, AIRPORT_LIST_CACHE_SECONDS)
        except Exception:
            logger.warning("cache unavailable, airport list not cached", exc_info=True)
    return body


def forget_airport_list():
    try:
        cache.delete(AIRPORT_LIST_CACHE_KEY)
    except Exception:
        logger.warning("cache unavailable, could not drop the cached airport list", exc_info=True)


@require_GET
def index(request):
    return render(request, "airports/index.html", {"version": settings.RELEASE_VERSION})


@never_cache
@require_http_methods(["GET", "HEAD"])
def healthz(request):
    """200 when every service answers, 503 naming the ones that did not; with the running version."""
    ok, results, timings = health.run_checks()
    body = {"status": "ok" if ok else "fail", "version": settings.RELEASE_VERSION, "checks": results}
    if not ok:
        body["failed"] = [name for name, result in results.items() if result != "ok"]
    body["timings_ms"] = timings
    return JsonResponse(body, status=200 if ok else 503)


@never_cache
@require_GET
def whoami(request):
    """The client as Django sees it: the proof that nginx, the unix socket and the middleware agree."""
    return JsonResponse(
        {
            "remote_addr": request.META.get("REMOTE_ADDR"),
            "is_secure": request.is_secure(),
            "scheme": request.scheme,
            "host": request.get_host(),
            "x_forwarded_for": request.META.get("HTTP_X_FORWARDED_FOR"),
            "x_real_ip": request.META.get("HTTP_X_REAL_IP"),
            "version": settings.RELEASE_VERSION,
        }
    )


@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def airports(request):
    if request.method != "POST":
        return HttpResponse(airport_list_body(), content_type="application/json")
    try:
        payload = read_json(request)
    except ValueError as exc:
        return json_error(400, str(exc))
    data, errors = validate_airport(payload)
    if errors:
        return json_error(400, "invalid airport", fields=errors)
    try:
        with transaction.atomic():
            airport = Airport.objects.create(
                iata=data["iata"], name=data["name"], location=Point(data["lon"], data["lat"], srid=4326)
            )
    except IntegrityError:
        return json_error(409, f"airport {data['iata']} exists")
    forget_airport_list()
    response = JsonResponse(airport_row(airport), status=201)
    response["Location"] = f"/api/airports/{airport.iata}"
    return response


@require_GET
def airport_detail(request, iata):
    airport = Airport.objects.filter(iata=iata.upper()).first()
    if airport is None:
        return json_error(404, f"no airport {iata}")
    return JsonResponse(airport_row(airport))


def distance_row(distance):
    return {
        "id": distance.pk,
        "origin": distance.origin.iata,
        "destination": distance.destination.iata,
        "status": distance.status,
        "km": None if distance.km is None else round(distance.km, 3),
        "requested_at": distance.requested_at,
        "computed_at": distance.computed_at,
    }


@csrf_exempt
@require_POST
def distances(request):
    """Ask for the distance between two airports: a Celery task computes it in PostGIS."""
    try:
        payload = read_json(request)
    except ValueError as exc:
        return json_error(400, str(exc))
    codes = {key: payload.get(key) for key in ("origin", "destination")}
    errors = {key: "required, an IATA code" for key, code in codes.items() if not isinstance(code, str) or not code}
    if errors:
        return json_error(400, "invalid request", fields=errors)
    found = {a.iata: a for a in Airport.objects.filter(iata__in=[code.upper() for code in codes.values()])}
    missing = sorted({code.upper() for code in codes.values()} - found.keys())
    if missing:
        return json_error(404, "unknown airport", iata=missing)
    distance = Distance.objects.create(
        origin=found[codes["origin"].upper()], destination=found[codes["destination"].upper()]
    )
    try:
        task = compute_distance.apply_async(args=[distance.pk], retry=True)
    except BrokerError:
        logger.exception("could not queue the distance task for %s", distance.pk)
        distance.delete()
        return json_error(503, "the task queue is unavailable, try again later")
    body = distance_row(distance) | {"url": f"/api/distances/{distance.pk}", "task_id": task.id}
    return JsonResponse(body, status=202)


@never_cache
@require_GET
def distance_detail(request, pk):
    distance = Distance.objects.select_related("origin", "destination").filter(pk=pk).first()
    if distance is None:
        return json_error(404, f"no distance {pk}")
    return JsonResponse(distance_row(distance))
