import json

from django.http import HttpResponseBadRequest, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from rest_framework import viewsets

from .models import Product
from .serializers import ProductSerializer
from .tasks import place_order as place_order_task


class ProductViewSet(viewsets.ModelViewSet):
    queryset = Product.objects.order_by("id")
    serializer_class = ProductSerializer


def index(request):
    return render(request, "catalog/index.html", {"products": Product.objects.order_by("id")[:20]})


@csrf_exempt
@require_POST
def place_order(request):
    """Queue an order: {"sku": ..., "reference": ...}; the Celery worker writes it."""
    try:
        body = json.loads(request.body)
        sku, reference = str(body["sku"]), str(body["reference"])
    except (ValueError, KeyError, TypeError):
        return HttpResponseBadRequest("expected JSON with sku and reference")
    place_order_task.delay(sku, reference)
    return JsonResponse({"queued": reference}, status=202)
